//! `GET /openapi.json`: an OpenAPI 3.0 document rendered from
//! [`super::routes::ROUTES`], the same table the dispatcher matches, so every
//! served route is documented and nothing undocumented is served.

use serde_json::{Map, Value, json};

use super::routes::ROUTES;

/// The OpenAPI 3.0.3 document.
#[must_use]
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({
                    "name": name,
                    "in": "path",
                    "required": true,
                    "schema": {"type": "string"}
                })
            })
            .collect();
        parameters.extend(route.query.iter().map(|q| {
            json!({
                "name": q.name,
                "in": "query",
                "required": false,
                "description": q.description,
                "schema": {"type": q.kind}
            })
        }));
        let mut responses = Map::new();
        for (status, media, description) in route.responses {
            let mut r = json!({ "description": description });
            if !media.is_empty() {
                let schema = if *media != "application/json" {
                    json!({"type": "string"})
                } else if *status >= 400 {
                    json!({"$ref": "#/components/schemas/Error"})
                } else {
                    success_schema(route.operation_id)
                };
                r["content"] = json!({ *media: { "schema": schema } });
            }
            responses.insert(status.to_string(), r);
        }
        let mut op = json!({
            "operationId": route.operation_id,
            "summary": route.summary,
            "responses": responses,
        });
        if !parameters.is_empty() {
            op["parameters"] = Value::Array(parameters);
        }
        if let Some(media) = route.body {
            let schema = if media == "application/json" {
                json!({"type": "object"})
            } else {
                json!({"type": "string", "format": "binary"})
            };
            op["requestBody"] = json!({
                "required": true,
                "content": { media: { "schema": schema } }
            });
        }
        if !route.auth {
            // Open to everyone whatever `[http] auth` says.
            op["security"] = json!([]);
        }
        item[route.method.as_str().to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "sansmail HTTP API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Messages, accounts, test-rig reset, queue and live events (docs/DESIGN.md §5.5). \
                Errors are {\"error\": \"...\"} with a 4xx/5xx status; message ids are opaque.",
            "license": {"name": "MIT OR Apache-2.0"}
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"}
            },
            "schemas": schemas()
        },
        "security": [{"bearer": []}]
    })
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// The schema of a route's JSON success answer.
fn success_schema(operation_id: &str) -> Value {
    match operation_id {
        "listMessages" => reference("MessageList"),
        "getMessage" => reference("MessageDetail"),
        "injectMessage" | "send" => reference("Created"),
        "listUsers" => reference("UserList"),
        "createUser" => reference("User"),
        "listQueue" => reference("Queue"),
        _ => json!({"type": "object"}),
    }
}

/// The JSON shapes of docs/DESIGN.md §5.5.
fn schemas() -> Value {
    let s = || json!({"type": "string"});
    let int = || json!({"type": "integer"});
    let strings = || json!({"type": "array", "items": {"type": "string"}});
    let nullable = || json!({"type": "string", "nullable": true});
    let summary = json!({
        "id": s(), "user": s(), "mailbox": s(), "uid": int(),
        "from": nullable(), "to": strings(), "subject": nullable(),
        "date": nullable(), "size": int(), "flags": strings(),
        "received": {"type": "string", "format": "date-time"}
    });
    let mut detail = summary.clone();
    detail["headers"] = json!({"type": "array", "items": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}});
    detail["text"] = nullable();
    detail["html"] = nullable();
    detail["attachments"] = json!({"type": "array", "items": {"type": "object", "properties": {
        "part": s(), "filename": nullable(), "content_type": s(), "size": int()
    }}});
    json!({
        "Error": {"type": "object", "required": ["error"], "properties": {"error": s()}},
        "MessageSummary": {"type": "object", "properties": summary},
        "MessageDetail": {"type": "object", "properties": detail},
        "MessageList": {"type": "object", "required": ["messages", "total"], "properties": {
            "messages": {"type": "array", "items": reference("MessageSummary")},
            "total": int()
        }},
        "Created": {"type": "object", "required": ["id"], "properties": {"id": s()}},
        "User": {"type": "object", "required": ["address"], "properties": {"address": s()}},
        "UserList": {"type": "object", "properties": {"users": {"type": "array", "items": reference("User")}}},
        "Queue": {"type": "object", "properties": {"queue": {"type": "array", "items": {"type": "object", "properties": {
            "id": s(), "from": s(),
            "recipients": {"type": "array", "items": {"type": "object", "properties": {
                "address": s(), "state": s(), "attempts": int(),
                "next_attempt": nullable(), "last_error": nullable()
            }}}
        }}}}}
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_is_documented_once() {
        let doc = super::document();
        for r in super::ROUTES {
            let method = r.method.as_str().to_ascii_lowercase();
            assert!(
                doc["paths"][r.path][&method].is_object(),
                "{method} {}",
                r.path
            );
        }
    }
}

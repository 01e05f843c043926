//! `[[rules]]` (docs/DESIGN.md §5.1): evaluated at RCPT TO (and for API
//! injection), in order, first match wins; and the glob patterns that
//! `[[rules]]` and `[[routes]]` share.

use crate::config::{RuleAction, RuleConfig};

use super::Verdict;

/// Case-insensitive glob match: `*` is any run (also empty), `?` one
/// character, everything else literal. Iterative with one backtrack point
/// (the last `*`), so a hostile address costs O(len(pattern) × len(text))
/// and never recurses.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some('?') => {
                pi += 1;
                ti += 1;
            }
            Some(c) if *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What the first matching rule decided for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleOutcome {
    /// No rule matched, or an `accept` rule did: route the recipient.
    Continue,
    /// Refuse the recipient with this reply (reject / tempfail).
    Refuse(Verdict),
    /// Accept and deliver nothing; send a DSN quoting this reply.
    Bounce(Verdict),
    /// Accept and deliver nothing.
    Discard,
}

/// Evaluates `rules` for (`sender`, `recipient`); `sender` is `""` for the
/// null reverse-path. `roll` draws a number in `[0, 1)` for rules with a
/// `probability` below 1 (chaos testing).
pub fn evaluate(
    rules: &[RuleConfig],
    sender: &str,
    recipient: &str,
    mut roll: impl FnMut() -> f64,
) -> RuleOutcome {
    for rule in rules {
        let matches = rule
            .recipient
            .as_deref()
            .is_none_or(|g| glob_match(g, recipient))
            && rule.sender.as_deref().is_none_or(|g| glob_match(g, sender));
        if !matches {
            continue;
        }
        // A probability below 1 makes the rule apply at random; when it
        // does not apply, evaluation goes on with the next rule.
        if rule.probability < 1.0 && roll() >= rule.probability {
            continue;
        }
        return match rule.action {
            RuleAction::Accept => RuleOutcome::Continue,
            RuleAction::Discard => RuleOutcome::Discard,
            RuleAction::Reject => {
                RuleOutcome::Refuse(verdict(rule, 550, "5.7.1", "Recipient rejected"))
            }
            RuleAction::Tempfail => RuleOutcome::Refuse(verdict(
                rule,
                451,
                "4.7.1",
                "Recipient temporarily rejected, try again later",
            )),
            RuleAction::Bounce => {
                RuleOutcome::Bounce(verdict(rule, 550, "5.7.1", "Message bounced by rule"))
            }
        };
    }
    RuleOutcome::Continue
}

/// The rule's `code`/`status`/`text` with the action's defaults; a custom
/// code without a status gets the generic `X.0.0` of its class.
fn verdict(rule: &RuleConfig, code: u16, status: &str, text: &str) -> Verdict {
    let status = match (&rule.status, rule.code) {
        (Some(s), _) => s.clone(),
        (None, Some(c)) if c != code => format!("{}.0.0", c / 100),
        _ => status.to_owned(),
    };
    Verdict {
        code: rule.code.unwrap_or(code),
        status,
        text: rule.text.clone().unwrap_or_else(|| text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases = [
            ("*", "", true),
            ("*", "a@b", true),
            ("reject@example.test", "Reject@Example.TEST", true),
            ("*@example.com", "x@example.com", true),
            ("*@example.com", "x@example.comm", false),
            ("a?c@*", "abc@x", true),
            ("a?c@*", "ac@x", false),
            ("", "", true),
            ("", "a", false),
            (
                "*a*a*a*a*b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
            ),
            ("**x", "abx", true),
            ("é*", "É@x", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(glob_match(p, t), want, "{p:?} vs {t:?}");
        }
    }

    fn rule(recipient: Option<&str>, sender: Option<&str>, action: RuleAction) -> RuleConfig {
        RuleConfig {
            recipient: recipient.map(str::to_owned),
            sender: sender.map(str::to_owned),
            action,
            code: None,
            status: None,
            text: None,
            probability: 1.0,
        }
    }

    #[test]
    fn first_match_wins_with_defaults_and_null_sender() {
        let mut rules = vec![
            rule(Some("ok@x"), None, RuleAction::Accept),
            rule(None, Some(""), RuleAction::Discard),
            rule(Some("*@x"), None, RuleAction::Reject),
            rule(Some("t@y"), None, RuleAction::Tempfail),
        ];
        rules[3].code = Some(421);
        let never = || 0.99;
        assert_eq!(
            evaluate(&rules, "s@z", "ok@x", never),
            RuleOutcome::Continue
        );
        assert_eq!(evaluate(&rules, "", "a@x", never), RuleOutcome::Discard);
        assert_eq!(
            evaluate(&rules, "s@z", "a@x", never),
            RuleOutcome::Refuse(Verdict::new(550, "5.7.1", "Recipient rejected"))
        );
        assert_eq!(
            evaluate(&rules, "s@z", "t@y", never),
            RuleOutcome::Refuse(Verdict::new(
                421,
                "4.0.0",
                "Recipient temporarily rejected, try again later"
            ))
        );
        assert_eq!(evaluate(&rules, "s@z", "n@q", never), RuleOutcome::Continue);
    }

    #[test]
    fn probability_skips_to_the_next_rule() {
        let mut chaos = rule(None, None, RuleAction::Reject);
        chaos.probability = 0.5;
        let rules = vec![chaos, rule(None, None, RuleAction::Discard)];
        assert_eq!(evaluate(&rules, "", "a@b", || 0.7), RuleOutcome::Discard);
        assert!(matches!(
            evaluate(&rules, "", "a@b", || 0.2),
            RuleOutcome::Refuse(_)
        ));
    }
}

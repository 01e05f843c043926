#![no_main]
//! The framer never panics, never buffers more than its limits allow, never
//! stalls with input left, and gives the same frames however the input is
//! split. The first bytes choose the role, LITERAL+ and the split points.

use imap_proto::Limits;
use imap_proto::framer::{Frame, Framer, Role};
use libfuzzer_sys::fuzz_target;

fn run(role: Role, plus: bool, chunks: &[&[u8]]) -> Vec<Frame> {
    let limits = Limits {
        max_line_length: 64,
        max_literal_size: 128,
        max_command_size: 512,
        max_depth: 8,
        ..Limits::default()
    };
    let mut f = Framer::new(role, limits);
    f.set_literal_plus(plus);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut input = *chunk;
        loop {
            let (used, frame) = f.feed(input);
            assert!(used <= input.len());
            input = &input[used..];
            assert!(f.pending().len() <= limits.max_command_size);
            match frame {
                Some(Frame::LiteralData(d)) => {
                    // Streamed pieces depend on the chunks: join them.
                    match out.last_mut() {
                        Some(Frame::LiteralData(prev)) => prev.extend_from_slice(&d),
                        _ => out.push(Frame::LiteralData(d)),
                    }
                }
                Some(fr) => {
                    if let Frame::LiteralAnnounced { size, .. } = fr {
                        // Stream multiples of 3, buffer even sizes that fit,
                        // reject the others.
                        if size % 3 == 0 {
                            f.accept_literal_streaming().expect("a literal is pending");
                        } else if size % 2 == 1 || f.accept_literal().is_err() {
                            f.reject_literal().expect("a literal is pending");
                        }
                    }
                    out.push(fr);
                }
                None => {
                    assert!(input.is_empty(), "framer stalled");
                    break;
                }
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let role = if cfg & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let plus = cfg & 2 != 0;
    let cut = usize::from(cfg >> 2).min(rest.len());
    let whole = run(role, plus, &[rest]);
    let (a, b) = rest.split_at(cut);
    assert_eq!(run(role, plus, &[a, b]), whole);
    if rest.len() < 256 {
        let bytes: Vec<&[u8]> = rest.chunks(1).collect();
        assert_eq!(run(role, plus, &bytes), whole);
    }
});

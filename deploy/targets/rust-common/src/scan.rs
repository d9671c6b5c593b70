//! Request scanning without an HTTP library (tokio and rust-std): find complete request heads,
//! decide keep-alive from the version and the `Connection` header, and append
//! the matching pre-built response for each.

const KEEP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nHello";
const CLOSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nHello";
const KEEP_HTTP10: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nHello";

fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    let from = from.min(buf.len());
    buf[from..].windows(4).position(|w| w == b"\r\n\r\n").map(|i| from + i + 4)
}

fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &s[start..end]
}

/// What one request head asks for.
struct Head {
    http10: bool,
    close: bool,
    keep_alive: bool,
    body_len: usize,
}

fn parse_head(head: &[u8]) -> Head {
    let mut lines = head.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let request_line = lines.next().unwrap_or(b"");
    let mut h = Head {
        http10: trim(request_line).ends_with(b"HTTP/1.0"),
        close: false,
        keep_alive: false,
        body_len: 0,
    };
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (name, value) = (trim(&line[..colon]), &line[colon + 1..]);
        if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim) {
                h.close |= token.eq_ignore_ascii_case(b"close");
                h.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name.eq_ignore_ascii_case(b"content-length") {
            h.body_len = std::str::from_utf8(trim(value)).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            h.close = true; // no chunked request bodies here: answer, then close
        }
    }
    h
}

/// What `respond` did with a buffer.
#[derive(Debug, PartialEq)]
pub struct Scanned {
    /// Bytes of complete requests answered; drop them from the buffer.
    pub consumed: usize,
    /// The connection must be closed now (requests after a closing one are ignored).
    pub close: bool,
    /// Where, in the buffer left after dropping `consumed`, the next search
    /// for a head end may start.
    pub next_search: usize,
}

/// Appends a response to `out` for every complete request in `buf`; the first
/// head end is searched from `searched`, an offset known to hold none before.
pub fn respond(buf: &[u8], searched: usize, out: &mut Vec<u8>) -> Scanned {
    let mut pos = 0;
    let mut from = searched;
    while let Some(end) = find_head_end(buf, from) {
        let head = parse_head(&buf[pos..end]);
        if buf.len() < end + head.body_len {
            // Body not complete yet: look at this head again next time.
            return Scanned { consumed: pos, close: false, next_search: 0 };
        }
        pos = end + head.body_len;
        from = pos;
        if head.http10 {
            if head.keep_alive && !head.close {
                out.extend_from_slice(KEEP_HTTP10);
            } else {
                out.extend_from_slice(CLOSE);
                return Scanned { consumed: pos, close: true, next_search: 0 };
            }
        } else if head.close {
            out.extend_from_slice(CLOSE);
            return Scanned { consumed: pos, close: true, next_search: 0 };
        } else {
            out.extend_from_slice(KEEP);
        }
    }
    // The unconsumed tail holds no head end, bar one split across reads.
    Scanned { consumed: pos, close: false, next_search: (buf.len() - pos).saturating_sub(3) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelined_and_close() {
        let mut out = Vec::new();
        let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3);
        assert_eq!(respond(&req, 0, &mut out), Scanned { consumed: req.len(), close: false, next_search: 0 });
        assert_eq!(out, KEEP.repeat(3));
        out.clear();
        let req = b"GET / HTTP/1.1\r\nCONNECTION: Close\r\n\r\nGET / HTTP/1.1\r\n\r\n";
        assert!(respond(req, 0, &mut out).close);
        assert_eq!(out, CLOSE);
        out.clear();
        assert!(respond(b"GET / HTTP/1.0\r\n\r\n", 0, &mut out).close);
        out.clear();
        let req = b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTT";
        assert_eq!(respond(req, 0, &mut out), Scanned { consumed: 42, close: false, next_search: 6 });
        assert_eq!(out, KEEP_HTTP10);
        out.clear();
        let req = b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nab";
        assert_eq!(respond(req, 0, &mut out), Scanned { consumed: 0, close: false, next_search: 0 });
        assert!(out.is_empty());
    }
}

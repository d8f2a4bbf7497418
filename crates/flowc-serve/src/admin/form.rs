//! `application/x-www-form-urlencoded` bodies and query strings, as the
//! admin pages' forms send them (axum's form support is not compiled in,
//! and these few fields need no more than this).

/// The fields of a body or query string, in order; a name without `=`
/// has an empty value. Bytes that are not UTF-8 become U+FFFD.
pub fn parse(body: &[u8]) -> Vec<(String, String)> {
    body.split(|b| *b == b'&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (&part[..i], &part[i + 1..]),
                None => (part, &[][..]),
            };
            (decode(name), decode(value))
        })
        .collect()
}

/// The first value of `name`.
pub fn get<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `+` is a space, `%XX` a byte; a `%` not followed by two hex digits
/// stays as it is.
fn decode(text: &[u8]) -> String {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let pair = text
                    .get(i + 1)
                    .and_then(|h| hex(*h))
                    .zip(text.get(i + 2).and_then(|l| hex(*l)));
                if let Some((h, l)) = pair {
                    out.push(h * 16 + l);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `text` as a query string's value (every byte but unreserved ones
/// percent-encoded).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `text` as a path segment (as [`encode`]: `/` too is encoded).
pub fn segment(text: &str) -> String {
    encode(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_decoded() {
        let fields = parse(b"token=a+b%2Bc&next=%2Frules%2F%E6%97%A5&flag&bad=%zz%4");
        assert_eq!(get(&fields, "token"), Some("a b+c"));
        assert_eq!(get(&fields, "next"), Some("/rules/日"));
        assert_eq!(get(&fields, "flag"), Some(""));
        assert_eq!(get(&fields, "bad"), Some("%zz%4"));
        assert_eq!(get(&fields, "none"), None);
        assert_eq!(parse(b"").len(), 0);
    }

    #[test]
    fn encoding_round_trips() {
        for text in ["/rules/日本 語?a=1&b", "<script>", "a+b%"] {
            let fields = parse(format!("x={}", encode(text)).as_bytes());
            assert_eq!(get(&fields, "x"), Some(text));
        }
    }
}

//! A JSON reader for bytes that other programs wrote.
//!
//! `serde_json` refuses a whole document for one string that is not UTF-8
//! (a Shift_JIS or Latin-1 value copied through by SQLite's `json_object`)
//! or one number beyond `f64` (`1e999`, or the `Inf` older SQLite writes
//! for infinity). Here such a value is read as what it is, so that it is bad
//! data on that one value, not an unreadable document.

/// A JSON value, keeping what strict JSON cannot hold.
#[derive(Clone, Debug, PartialEq)]
pub enum Loose {
    Null,
    Bool(bool),
    Int(i64),
    /// Any other number; infinite beyond `f64` (`1e999`, `Inf`).
    Real(f64),
    Text(String),
    /// A string whose bytes (after unescaping) are not UTF-8.
    Bytes(Vec<u8>),
    Array(Vec<Loose>),
    Object(Vec<(String, Loose)>),
}

/// How deep arrays and objects may nest (a guard for the stack).
const MAX_DEPTH: u32 = 128;

/// Reads one JSON document; `Err` says what is wrong and where.
pub fn parse(bytes: &[u8]) -> Result<Loose, String> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.value(0)?;
    reader.space();
    if reader.at < bytes.len() {
        return Err(reader.error("unexpected text after the value"));
    }
    Ok(value)
}

impl From<&serde_json::Value> for Loose {
    fn from(v: &serde_json::Value) -> Loose {
        match v {
            serde_json::Value::Null => Loose::Null,
            serde_json::Value::Bool(b) => Loose::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Loose::Int(i),
                None => Loose::Real(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Loose::Text(s.clone()),
            serde_json::Value::Array(a) => Loose::Array(a.iter().map(Loose::from).collect()),
            serde_json::Value::Object(o) => {
                Loose::Object(o.iter().map(|(k, v)| (k.clone(), Loose::from(v))).collect())
            }
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.at)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        self.space();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    fn value(&mut self, depth: u32) -> Result<Loose, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.space();
        match self.peek() {
            None => Err(self.error("expected a value")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(match self.string()? {
                Ok(text) => Loose::Text(text),
                Err(bytes) => Loose::Bytes(bytes),
            }),
            Some(b'-' | b'+' | b'.' | b'0'..=b'9') => self.number(),
            Some(_) => self.word(),
        }
    }

    fn object(&mut self, depth: u32) -> Result<Loose, String> {
        self.at += 1;
        let mut fields = Vec::new();
        self.space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(Loose::Object(fields));
        }
        loop {
            self.space();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a key"));
            }
            let key = match self.string()? {
                Ok(key) => key,
                Err(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            };
            self.expect(b':')?;
            fields.push((key, self.value(depth + 1)?));
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Loose::Object(fields));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self, depth: u32) -> Result<Loose, String> {
        self.at += 1;
        let mut items = Vec::new();
        self.space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(Loose::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Loose::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    /// A string: `Ok` if its bytes are UTF-8, else `Err` with the bytes.
    /// A lone surrogate escape is kept as its (invalid) UTF-8 bytes.
    fn string(&mut self) -> Result<Result<String, Vec<u8>>, String> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            let Some(byte) = self.peek() else {
                return Err(self.error("unterminated string"));
            };
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => self.escape(&mut out)?,
                _ => out.push(byte),
            }
        }
        Ok(String::from_utf8(out).map_err(|e| e.into_bytes()))
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let Some(byte) = self.peek() else {
            return Err(self.error("unterminated string"));
        };
        self.at += 1;
        let simple = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let unit = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&unit)
                    && self.bytes.get(self.at..self.at + 2) == Some(b"\\u")
                {
                    let save = self.at;
                    self.at += 2;
                    let low = self.hex4()?;
                    if (0xDC00..0xE000).contains(&low) {
                        0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        self.at = save;
                        unit
                    }
                } else {
                    unit
                };
                push_code_point(out, code);
                return Ok(());
            }
            _ => return Err(self.error("unknown escape")),
        };
        out.push(simple);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .bytes
            .get(self.at..self.at + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.error("expected four hex digits"))?;
        self.at += 4;
        Ok(digits)
    }

    fn number(&mut self) -> Result<Loose, String> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.at += 1;
        }
        // `-Inf`, `-Infinity`, `-NaN`.
        if matches!(self.peek(), Some(b'I' | b'N' | b'i' | b'n')) && self.at == start + 1 {
            let negative = self.bytes[start] == b'-';
            return match self.word()? {
                Loose::Real(f) if negative => Ok(Loose::Real(-f)),
                Loose::Real(f) => Ok(Loose::Real(f)),
                _ => Err(self.error("bad number")),
            };
        }
        let token = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        let integral = !token.contains(['.', 'e', 'E']);
        if integral && let Ok(i) = token.parse::<i64>() {
            return Ok(Loose::Int(i));
        }
        token
            .parse::<f64>()
            .map(Loose::Real)
            .map_err(|_| self.error(&format!("bad number `{token}`")))
    }

    fn word(&mut self) -> Result<Loose, String> {
        let start = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.bytes[start..self.at]).unwrap_or_default();
        match word.to_ascii_lowercase().as_str() {
            "null" => Ok(Loose::Null),
            "true" => Ok(Loose::Bool(true)),
            "false" => Ok(Loose::Bool(false)),
            // What older SQLite's `json_object` wrote for ±infinity.
            "inf" | "infinity" => Ok(Loose::Real(f64::INFINITY)),
            "nan" => Ok(Loose::Real(f64::NAN)),
            _ => {
                self.at = start;
                Err(self.error("expected a value"))
            }
        }
    }
}

/// Appends a code point as UTF-8; a lone surrogate gets the (invalid)
/// three bytes it would have, so the string is reported, not repaired.
fn push_code_point(out: &mut Vec<u8>, code: u32) {
    match char::from_u32(code) {
        Some(c) => {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        None => out.extend_from_slice(&[
            0xE0 | (code >> 12) as u8,
            0x80 | ((code >> 6) & 0x3F) as u8,
            0x80 | (code & 0x3F) as u8,
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(pairs: &[(&str, Loose)]) -> Loose {
        Loose::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn reads_what_strict_json_refuses_value_by_value() {
        let bytes = b"{\"a\":\"\x93\xFA\x96\x7B\",\"b\":Inf,\"c\":-Inf,\"d\":9.0e999,\"e\":\"\xE6\x97\xA5\",\"f\":12}";
        assert_eq!(
            parse(bytes),
            Ok(object(&[
                ("a", Loose::Bytes(vec![0x93, 0xFA, 0x96, 0x7B])),
                ("b", Loose::Real(f64::INFINITY)),
                ("c", Loose::Real(f64::NEG_INFINITY)),
                ("d", Loose::Real(f64::INFINITY)),
                ("e", Loose::Text("日".into())),
                ("f", Loose::Int(12)),
            ]))
        );
    }

    #[test]
    fn reads_ordinary_json_as_serde_does() {
        let text = r#" {"s": "a\"b\\c\n\u00e9\ud83d\ude00", "n": null, "t": true, "x": [1, 2.5, -3e2, {}],
                        "big": 123456789012345678901234567890} "#;
        let strict: serde_json::Value = serde_json::from_str(text).expect("json");
        let loose = parse(text.as_bytes()).expect("loose");
        let Loose::Object(fields) = &loose else {
            panic!("{loose:?}")
        };
        assert_eq!(fields[0].1, Loose::Text("a\"b\\c\né😀".into()));
        assert_eq!(fields[0].1, Loose::from(&strict["s"]));
        assert_eq!(fields[3].1, Loose::from(&strict["x"]));
        assert_eq!(fields[4].1, Loose::Real(1.2345678901234568e29));
    }

    #[test]
    fn a_lone_surrogate_is_reported_not_repaired() {
        assert_eq!(
            parse(br#""\ud800x""#),
            Ok(Loose::Bytes(vec![0xED, 0xA0, 0x80, b'x']))
        );
    }

    #[test]
    fn says_where_a_document_is_broken() {
        assert_eq!(parse(b"not json"), Err("expected a value at byte 0".into()));
        assert_eq!(
            parse(b"{\"a\": 1"),
            Err("expected `,` or `}` at byte 7".into())
        );
        assert_eq!(parse(b"\"abc"), Err("unterminated string at byte 4".into()));
        assert_eq!(
            parse(b"{} x"),
            Err("unexpected text after the value at byte 3".into())
        );
        assert!(parse(&[b'['; 1000]).is_err());
    }
}

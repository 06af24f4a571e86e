//! The JSON literals of `compValue` (RFC 8259 §6 numbers and §7 strings), lexed with
//! positions so that errors point into the filter.

use super::parse::Parser;
use crate::ScimError;

impl Parser<'_> {
    /// A JSON number (RFC 8259 §6), converted by serde_json so it compares like JSON does.
    pub(super) fn number(&mut self) -> Result<serde_json::Number, ScimError> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        let digits = |mut i: usize| {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            i
        };
        let mut i = start;
        if bytes[i] == b'-' {
            i += 1;
        }
        let int_end = match bytes.get(i) {
            Some(b'0') => i + 1,
            Some(b'1'..=b'9') => digits(i),
            _ => return Err(self.expected(i, "a digit")),
        };
        i = int_end;
        if bytes.get(i) == Some(&b'.') {
            let frac_end = digits(i + 1);
            if frac_end == i + 1 {
                return Err(self.expected(i + 1, "a digit after \".\""));
            }
            i = frac_end;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(bytes.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            let exp_end = digits(i);
            if exp_end == i {
                return Err(self.expected(i, "a digit in the exponent"));
            }
            i = exp_end;
        }
        let text = &self.src[start..i];
        // Integers stay exact; everything else goes through the standard library's correctly
        // rounded parser (serde_json's default one can be off by an ulp), so that the shortest
        // print of a number always parses back to the same number.
        let integer = (i == int_end)
            .then(|| {
                text.parse::<i64>()
                    .map(serde_json::Number::from)
                    .or_else(|_| text.parse::<u64>().map(serde_json::Number::from))
                    .ok()
            })
            .flatten();
        let number = integer
            .or_else(|| {
                text.parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
            })
            .ok_or_else(|| self.fail(start, format!("the number {text} is out of range")))?;
        self.pos = i;
        Ok(number)
    }

    /// A JSON string with every JSON escape, including UTF-16 surrogate pairs.
    pub(super) fn string(&mut self) -> Result<String, ScimError> {
        let open = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.fail(open, "the string starting here is not closed with '\"'"));
            };
            let here = self.pos;
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.escape(here)?),
                c if (c as u32) < 0x20 => {
                    return Err(self.fail(
                        here,
                        format!(
                            "control character U+{:04X} in a string must be escaped",
                            c as u32
                        ),
                    ));
                }
                c => out.push(c),
            }
        }
    }

    /// The character for the escape whose backslash is at `backslash` (position is after it).
    fn escape(&mut self, backslash: usize) -> Result<char, ScimError> {
        let c = self
            .peek()
            .ok_or_else(|| self.expected(self.pos, "an escape character"))?;
        self.pos += c.len_utf8();
        Ok(match c {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = self.hex4()?;
                let code = match high {
                    0xD800..=0xDBFF => {
                        let second = self.pos;
                        if !self.src[self.pos..].starts_with("\\u") {
                            return Err(self.fail(
                                backslash,
                                "a \\u high surrogate must be followed by a \\u low surrogate",
                            ));
                        }
                        self.pos += 2;
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(
                                self.fail(second, "expected a \\u low surrogate (DC00-DFFF)")
                            );
                        }
                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => {
                        return Err(self.fail(
                            backslash,
                            "a \\u low surrogate must follow a high surrogate",
                        ));
                    }
                    code => code,
                };
                char::from_u32(code)
                    .ok_or_else(|| self.fail(backslash, "\\u escape is not a character"))?
            }
            _ => {
                return Err(self.fail(
                    backslash,
                    "unknown escape; JSON strings allow \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX",
                ));
            }
        })
    }

    fn hex4(&mut self) -> Result<u32, ScimError> {
        let rest = &self.src.as_bytes()[self.pos..];
        let digits = rest
            .iter()
            .take(4)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits < 4 {
            return Err(self.expected(self.pos + digits, "four hex digits after \\u"));
        }
        // Four ASCII hex digits always parse.
        let code = u32::from_str_radix(&self.src[self.pos..self.pos + 4], 16)
            .map_err(|_| self.expected(self.pos, "four hex digits after \\u"))?;
        self.pos += 4;
        Ok(code)
    }
}

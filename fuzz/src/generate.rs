//! [`Gen`]: structured choices read from the fuzzer's bytes.

/// Choices read from fuzz input bytes, for structured targets: every
/// method consumes a few bytes and, once they run out, answers zero or
/// empty, so any input is a valid sequence of choices and mutating the
/// bytes mutates the structure.
pub struct Gen<'a> {
    data: &'a [u8],
}

/// Text fragments [`Gen::string`] draws from: empty and whitespace, the
/// delimiters of URIs, pgpass, libpq, shells, JSON and TOML, multi-byte
/// and case-changing characters, NULs and control characters.
const FRAGMENTS: &[&str] = &[
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\0",
    "\\",
    "\\\\",
    ":",
    "\\:",
    "*",
    "'",
    "\"",
    "`",
    "$",
    "${X}",
    "%",
    "%zz",
    "%41",
    "@",
    "/",
    "?",
    "#",
    "&",
    "=",
    ";",
    "{",
    "}",
    "}}",
    "[",
    "]",
    "[::1]",
    "::1",
    "é",
    "•",
    "€",
    "😀",
    "\u{feff}",
    "\u{202e}",
    "İ",
    "\u{212a}",
    "ß",
    "ǅ",
    "\u{7f}",
    "\u{1b}[31m",
    "prod",
    "Prod",
    "dev-2",
    "a_b",
    "localhost",
    "db.internal",
    "app",
    "sslmode",
    "ssl-mode",
    "ssl_mode",
    "require",
    "VERIFY_IDENTITY",
    "connect_timeout",
    "sslrootcert",
    "/tmp/ca.pem",
    "never",
    "0",
    "5432",
    "65536",
    "-1",
    "**********",
    "SecretStr('**********')",
];

impl<'a> Gen<'a> {
    /// Choices from `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    /// Whether any input is left.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The next byte, 0 when none is left.
    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((b, rest)) => {
                self.data = rest;
                *b
            }
            None => 0,
        }
    }

    /// The next `n` bytes (fewer at the end).
    pub fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (head, rest) = self.data.split_at(n);
        self.data = rest;
        head
    }

    /// A choice in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            0
        } else if n <= 256 {
            self.byte() as usize % n
        } else {
            (u16::from_le_bytes([self.byte(), self.byte()]) as usize) % n
        }
    }

    /// A boolean.
    pub fn bool(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    /// One of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A `u32`, often one at an edge.
    pub fn u32(&mut self) -> u32 {
        match self.byte() % 8 {
            0 => self.pick(&[0, 1, 14, 15, 90, 36_500, 36_501, 65_535, 65_536]),
            1 => self.pick(&[u32::MAX, u32::MAX - 1, i32::MAX as u32, 1 << 31]),
            2 => u32::from(self.byte()),
            3 => u32::from(u16::from_le_bytes([self.byte(), self.byte()])),
            _ => u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]),
        }
    }

    /// An `i64` Unix time, often one at an edge of what chrono can hold.
    pub fn unix_secs(&mut self) -> i64 {
        match self.byte() % 8 {
            0 => self.pick(&[
                0,
                1,
                -1,
                i64::MAX,
                i64::MIN,
                i64::MAX - 1,
                i64::MIN + 1,
                // chrono's range is about ±262,143 years.
                8_210_298_412_799,
                8_210_298_412_800,
                -8_334_601_228_800,
                -8_334_601_228_801,
                -8_334_632_851_200,
                253_402_300_799,
            ]),
            1 => 1_700_000_000 + i64::from(self.byte()) * 86_400 * 30,
            2 => -(i64::from(u16::from_le_bytes([self.byte(), self.byte()])) << 32),
            _ => i64::from_le_bytes(std::array::from_fn(|_| self.byte())),
        }
    }

    /// A string of about `max` bytes at most, built from [`FRAGMENTS`],
    /// single characters, raw bytes (as lossy UTF-8) and long runs of one
    /// character (of lengths at the bounds of the model's fields, up to
    /// `max + 1` characters).
    pub fn string(&mut self, max: usize) -> String {
        let mut s = String::new();
        let parts = self.below(9);
        for _ in 0..parts {
            if s.len() >= max {
                break;
            }
            match self.byte() % 6 {
                0..=2 => s.push_str(self.pick(FRAGMENTS)),
                3 => {
                    let c = char::from_u32(u32::from(self.byte())).unwrap_or('?');
                    s.push(c);
                }
                4 => {
                    let n = self.below(16);
                    s.push_str(&String::from_utf8_lossy(self.take(n)));
                }
                _ => {
                    // A long run, for length bounds.
                    let c = self.pick(&['a', 'é', ':', '\\', ' ', '😀']);
                    let n = self.pick(&[50, 51, 255, 256, 1024, 1025, 4096, 4097]);
                    s.extend(std::iter::repeat_n(c, n.min(max + 1)));
                }
            }
        }
        s
    }
}

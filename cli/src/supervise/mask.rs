//! `--mask`: a byte stream with every occurrence of a secret replaced by
//! `***`, whatever the chunks it arrives in. Bytes that could be the start
//! of a secret are held until the next chunk tells (or until the stream
//! goes idle, [`Masker::flush`]); everything else passes at once, escape
//! sequences included, so colours survive.

use zeroize::Zeroizing;

/// What a secret becomes.
pub const MASK: &[u8] = b"***";

/// Secrets shorter than this are not masked: replacing every `a` of the
/// output would hide nothing and ruin it (`exec`/`run` warn).
pub const MIN_SECRET_LEN: usize = 4;

/// RFC 3986 unreserved characters stay; the rest is percent-encoded, as in
/// the URIs dbcreds renders (`DATABASE_URL`).
fn percent_encoded(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The forms of `password` a program may print: as it is, and
/// percent-encoded (in a URI).
pub fn forms(password: &str) -> Vec<Zeroizing<Vec<u8>>> {
    let mut v = vec![Zeroizing::new(password.as_bytes().to_vec())];
    let enc = percent_encoded(password);
    if enc != password {
        v.push(Zeroizing::new(enc.into_bytes()));
    }
    v
}

/// The streaming replacer.
pub struct Masker {
    /// Longest first, so a secret containing another wins.
    secrets: Vec<Zeroizing<Vec<u8>>>,
    held: Zeroizing<Vec<u8>>,
}

impl Masker {
    /// A masker of `secrets` (those shorter than [`MIN_SECRET_LEN`] are
    /// dropped).
    pub fn new(secrets: Vec<Zeroizing<Vec<u8>>>) -> Self {
        let mut secrets: Vec<_> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_SECRET_LEN)
            .collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup_by(|a, b| a.as_slice() == b.as_slice());
        Self {
            secrets,
            held: Zeroizing::new(Vec::new()),
        }
    }

    /// Masks `secrets` from now on (as [`Masker::new`] takes them).
    pub fn set_secrets(&mut self, secrets: Vec<Zeroizing<Vec<u8>>>) {
        self.secrets = Self::new(secrets).secrets;
    }

    /// True when bytes are held back, waiting for the next chunk.
    pub fn holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// The bytes of `input` (after those held before) that may be written
    /// now.
    pub fn feed(&mut self, input: &[u8]) -> Zeroizing<Vec<u8>> {
        let mut buf = std::mem::take(&mut self.held);
        buf.extend_from_slice(input);
        let (out, rest) = self.scan(&buf, true);
        self.held = Zeroizing::new(buf[rest..].to_vec());
        out
    }

    /// Everything held, masked as far as it goes (end of input, or the
    /// stream went idle).
    pub fn flush(&mut self) -> Zeroizing<Vec<u8>> {
        let buf = std::mem::take(&mut self.held);
        self.scan(&buf, false).0
    }

    /// Masks `buf`; with `hold`, stops at the first place a secret could
    /// begin but `buf` ends first, and says where.
    fn scan(&self, buf: &[u8], hold: bool) -> (Zeroizing<Vec<u8>>, usize) {
        let mut out = Zeroizing::new(Vec::with_capacity(buf.len()));
        let mut i = 0;
        'outer: while i < buf.len() {
            let rest = &buf[i..];
            for s in &self.secrets {
                if rest.starts_with(s) {
                    out.extend_from_slice(MASK);
                    i += s.len();
                    continue 'outer;
                }
            }
            if hold && self.secrets.iter().any(|s| s.starts_with(rest)) {
                return (out, i);
            }
            out.push(buf[i]);
            i += 1;
        }
        (out, buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker(secrets: &[&str]) -> Masker {
        Masker::new(secrets.iter().flat_map(|s| forms(s)).collect())
    }

    fn through(m: &mut Masker, chunks: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for c in chunks {
            out.extend_from_slice(&m.feed(c));
        }
        out.extend_from_slice(&m.flush());
        out
    }

    #[test]
    fn masks_across_chunks_and_keeps_escapes() {
        let mut m = masker(&["s3cr3t!"]);
        let out = through(
            &mut m,
            &[b"\x1b[01;34mpw=s3c", b"r3t!\x1b[0m and s3cr3", b"t! end"],
        );
        assert_eq!(out, b"\x1b[01;34mpw=***\x1b[0m and *** end");
        // Held only while it could still be the secret.
        assert_eq!(&*m.feed(b"xs3"), b"x");
        assert!(m.holding());
        assert_eq!(&*m.feed(b"x"), b"s3x");
        assert!(!m.holding());
    }

    #[test]
    fn masks_the_percent_encoded_form_and_every_byte_split() {
        let secret = "p@ss:w/rd?#% \\$x";
        let text = format!(
            "url=postgresql://app:{}@db/app pw={secret}\n",
            percent_encoded(secret)
        );
        let want = b"url=postgresql://app:***@db/app pw=***\n".to_vec();
        for split in 0..text.len() {
            let (a, b) = text.as_bytes().split_at(split);
            let mut m = masker(&[secret]);
            assert_eq!(through(&mut m, &[a, b]), want, "split at {split}");
        }
        // One byte at a time.
        let mut m = masker(&[secret]);
        let chunks: Vec<&[u8]> = text.as_bytes().chunks(1).collect();
        assert_eq!(through(&mut m, &chunks), want);
    }

    #[test]
    fn flush_masks_a_shorter_secret_inside_a_held_prefix() {
        let mut m = masker(&["abcdefgh", "cdef"]);
        assert_eq!(&*m.feed(b"xabcdef"), b"x");
        assert_eq!(&*m.flush(), b"ab***");
        let mut m = masker(&["abc"]);
        assert_eq!(
            through(&mut m, &[b"abc abc"]),
            b"abc abc",
            "too short to mask"
        );
    }
}

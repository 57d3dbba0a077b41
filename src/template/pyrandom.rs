//! Python's `random.Random` (Mersenne Twister, seeded as CPython seeds it) for the
//! lookups and filters that take a `seed` and must give what Ansible gives for it;
//! without a seed, the system's randomness as Python's `SystemRandom`.

use sha2::{Digest, Sha512};

/// A seed as Python's `random.seed` takes it.
pub(crate) enum Seed<'a> {
    /// An integer (its absolute value is used).
    Int(i128),
    /// A string (version 2 seeding: the text followed by its SHA-512).
    Str(&'a str),
}

/// CPython's MT19937 generator.
pub(crate) struct PyRandom {
    state: [u32; 624],
    index: usize,
}

impl PyRandom {
    /// A generator seeded as `random.Random(seed)`.
    pub(crate) fn new(seed: Seed<'_>) -> PyRandom {
        // The seed as a big integer, little-endian bytes.
        let bytes: Vec<u8> = match seed {
            Seed::Int(n) => n.unsigned_abs().to_le_bytes().to_vec(),
            Seed::Str(text) => {
                let mut big_endian = text.as_bytes().to_vec();
                big_endian.extend(Sha512::digest(text.as_bytes()));
                big_endian.reverse();
                big_endian
            }
        };
        let mut key: Vec<u32> = bytes
            .chunks(4)
            .map(|chunk| {
                let mut word = [0u8; 4];
                word[..chunk.len()].copy_from_slice(chunk);
                u32::from_le_bytes(word)
            })
            .collect();
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        let mut random = PyRandom {
            state: [0; 624],
            index: 624,
        };
        random.init_by_array(&key);
        random
    }

    fn init_genrand(&mut self, seed: u32) {
        self.state[0] = seed;
        for i in 1..624 {
            let prev = self.state[i - 1];
            self.state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = 624;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        let n = 624;
        for _ in 0..n.max(key.len()) {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ ((prev ^ (prev >> 30)).wrapping_mul(1_664_525)))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= n {
                self.state[0] = self.state[n - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..n - 1 {
            let prev = self.state[i - 1];
            self.state[i] = (self.state[i] ^ ((prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= n {
                self.state[0] = self.state[n - 1];
                i = 1;
            }
        }
        self.state[0] = 0x8000_0000;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for k in 0..624 {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % 624] & 0x7fff_ffff);
                let mut next = self.state[(k + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    next ^= 0x9908_b0df;
                }
                self.state[k] = next;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k` up to 128.
    fn getrandbits(&mut self, k: u32) -> u128 {
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return u128::from(self.next_u32() >> (32 - k));
        }
        let mut result = 0u128;
        let mut left = k;
        let mut shift = 0;
        while left > 0 {
            let mut word = self.next_u32();
            if left < 32 {
                word >>= 32 - left;
            }
            result |= u128::from(word) << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        result
    }

    /// `_randbelow(n)`: uniform in `0..n`.
    pub(crate) fn below(&mut self, n: u128) -> u128 {
        if n == 0 {
            return 0;
        }
        let k = 128 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }
}

/// `randrange(start, stop, step)` drawing from `below`, as CPython computes it.
pub(crate) fn randrange(
    start: i64,
    stop: i64,
    step: i64,
    below: &mut dyn FnMut(u128) -> u128,
) -> Result<i64, String> {
    let width = i128::from(stop) - i128::from(start);
    let step = i128::from(step);
    let n = match step {
        1 if width > 0 => width,
        1 => return Err(format!("empty range in randrange({start}, {stop})")),
        s if s > 0 => (width + s - 1).div_euclid(s),
        s if s < 0 => (width + s + 1).div_euclid(s),
        _ => return Err("zero step for randrange()".into()),
    };
    if n <= 0 {
        return Err("empty range for randrange()".into());
    }
    Ok((i128::from(start) + step * below(n as u128) as i128) as i64)
}

/// A number in `0..n` from the system's randomness (Python's `SystemRandom`).
pub(crate) fn system_below(n: u64) -> u64 {
    if n <= 1 {
        return 0;
    }
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let mut bytes = [0u8; 8];
        if getrandom::getrandom(&mut bytes).is_err() {
            return 0;
        }
        let r = u64::from_le_bytes(bytes);
        if r < zone {
            return r % n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cpython_for_string_and_int_seeds() {
        let mut r = PyRandom::new(Seed::Str("foo"));
        let mut draw = |n| r.below(n);
        assert_eq!(randrange(0, 100, 1, &mut draw), Ok(58));
        assert_eq!(randrange(0, 100, 1, &mut draw), Ok(92));
        let mut r = PyRandom::new(Seed::Int(1337));
        assert_eq!(randrange(0, 2, 1, &mut |n| r.below(n)), Ok(1));
        let mut r = PyRandom::new(Seed::Int(42));
        assert_eq!(r.getrandbits(32), 2_746_317_213);
        assert_eq!(r.getrandbits(70), 867_458_338_436_606_341_503);
        let mut r = PyRandom::new(Seed::Str("foo"));
        let mut letters: Vec<char> = "foo bar".chars().collect();
        for i in (1..letters.len()).rev() {
            let j = r.below(i as u128 + 1) as usize;
            letters.swap(i, j);
        }
        assert_eq!(letters.iter().collect::<String>(), "ofrboa ");
        let mut r = PyRandom::new(Seed::Int((1 << 40) + 5));
        assert_eq!(r.below(1_000_000_000_000), 569_101_979_940);
    }

    #[test]
    fn randrange_rejects_empty_ranges() {
        let mut r = PyRandom::new(Seed::Int(1));
        assert!(randrange(5, 5, 1, &mut |n| r.below(n)).is_err());
        assert!(randrange(0, 5, 0, &mut |n| r.below(n)).is_err());
        let v = randrange(10, 0, -2, &mut |n| r.below(n)).expect("in range");
        assert!([10, 8, 6, 4, 2].contains(&v));
    }
}

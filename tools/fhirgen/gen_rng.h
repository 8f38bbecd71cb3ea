// Internal: portable deterministic PRNG (splitmix64 seeding + xoshiro256**).
// Never use <random> distributions here: their output differs between
// standard library implementations/versions.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <span>

namespace fhirgen::detail {

inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Stateless hash of two values; used for attributes derived from an index
// (e.g. a practitioner's name) so they need not be stored.
inline uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t s = a * 0xD1B54A32D192ED03ull ^ (b + 0x8CB92BA72F3D8DD7ull);
  SplitMix64(s);
  return SplitMix64(s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& x : s_) x = SplitMix64(s);
  }

  uint64_t Next() {
    const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = std::rotl(s_[3], 45);
    return result;
  }

  // Uniform-ish in [0, n) (multiply-shift; bias < n / 2^64). 0 if n == 0.
  uint64_t Below(uint64_t n) { return MulHi(Next(), n); }

  // Inclusive range [lo, hi].
  int64_t Range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Below(static_cast<uint64_t>(hi - lo) + 1));
  }

  // True with probability per10k / 10000.
  bool Chance(uint32_t per10k) { return Below(10000) < per10k; }

  template <class T>
  const T& Pick(std::span<const T> items) {
    return items[Below(items.size())];
  }

  static uint64_t MulHi(uint64_t a, uint64_t b) {
    __extension__ using U128 = unsigned __int128;
    return static_cast<uint64_t>((static_cast<U128>(a) * b) >> 64);
  }

 private:
  uint64_t s_[4];
};

}  // namespace fhirgen::detail

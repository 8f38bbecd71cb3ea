// Clang's thread-safety annotations, checked by -Wthread-safety in the clang
// (tsan) build and empty for other compilers. Shared state names the mutex
// that guards it, and functions name the mutex they need held or take:
//
//   base::Mutex mu_;
//   int64_t in_flight_ FM_GUARDED_BY(mu_) = 0;
//   void DrawLocked() FM_REQUIRES(mu_);
//
// A std::mutex carries no annotation in libstdc++; base::Mutex
// (base/mutex.h) is the annotated one.
#pragma once

#if defined(__clang__)
#define FM_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define FM_THREAD_ANNOTATION(x)
#endif

#define FM_CAPABILITY(name) FM_THREAD_ANNOTATION(capability(name))
#define FM_SCOPED_CAPABILITY FM_THREAD_ANNOTATION(scoped_lockable)
#define FM_GUARDED_BY(mu) FM_THREAD_ANNOTATION(guarded_by(mu))
#define FM_PT_GUARDED_BY(mu) FM_THREAD_ANNOTATION(pt_guarded_by(mu))
#define FM_ACQUIRED_BEFORE(...) FM_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define FM_ACQUIRED_AFTER(...) FM_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define FM_REQUIRES(...) FM_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define FM_EXCLUDES(...) FM_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define FM_ACQUIRE(...) FM_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define FM_RELEASE(...) FM_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define FM_TRY_ACQUIRE(...) FM_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define FM_RETURN_CAPABILITY(x) FM_THREAD_ANNOTATION(lock_returned(x))
#define FM_NO_THREAD_SAFETY_ANALYSIS FM_THREAD_ANNOTATION(no_thread_safety_analysis)

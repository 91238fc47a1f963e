#include <git2.h>

// Swift cannot call C variadic functions, so the few git_libgit2_opts calls
// the bridge needs get fixed-argument wrappers here.

/// Owner validation off: repositories owned by another user open (OpenHands #8231).
static inline int agentbridge_git_set_owner_validation(int enabled) {
  return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, enabled);
}

static inline int agentbridge_git_get_owner_validation(void) {
  int enabled = -1;
  if (git_libgit2_opts(GIT_OPT_GET_OWNER_VALIDATION, &enabled) != 0) return -1;
  return enabled;
}

#ifdef __linux__
#include <sys/vfs.h>

/// The `statfs` f_type of the file system holding `path` (Swift's Glibc
/// module leaves `statfs` out); -1 when it cannot be told.
static inline long agentbridge_file_system_type(const char *path) {
  struct statfs info;
  if (statfs(path, &info) != 0) return -1;
  return (long)info.f_type;
}
#endif

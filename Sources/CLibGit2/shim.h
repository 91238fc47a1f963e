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

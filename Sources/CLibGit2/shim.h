#include <git2.h>

/* git_libgit2_opts is variadic, which Swift cannot call; this names the one
   setting the workspace code needs. Repositories in a workspace are often
   owned by another user (a container's uid), and the bridge only reads. */
static inline int agent_bridge_git_disable_owner_validation(void) {
  return git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

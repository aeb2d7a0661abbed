#ifndef RUNTIME_CGROUP_BPF_H
#define RUNTIME_CGROUP_BPF_H
/* The cgroup v2 device filter. `rules` holds n_rules records of 5 ints:
 * allow (0/1), type (0 all, 1 block, 2 char), major (-1 any), minor (-1 any),
 * access (1 mknod | 2 read | 4 write). Evaluated on a deny-all start, the
 * last matching rule wins. Replaces the filter this runtime attached to the
 * cgroup before, if any. 0 or -errno. */
int rt_cgroup_device_filter(int cgroup_fd, const int *rules, int n_rules);
/* How many device filters of this runtime are attached to the cgroup, or -errno. */
int rt_cgroup_device_filters(int cgroup_fd);
#endif

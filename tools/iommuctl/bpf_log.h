/* SPDX-License-Identifier: GPL-2.0 */
/* libbpf's messages: warnings always, everything with -v, and the tail of
 * the verifier log kept to explain a load error. */
#ifndef IOMMUCTL_BPF_LOG_H
#define IOMMUCTL_BPF_LOG_H

void bpf_log_setup(void);
/* p_err() for a failed load of `what`, with the verifier's last lines
 * under -v; returns the exit status. */
int bpf_log_load_error(const char *what, int err);

#endif

/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _FNMM_MAP_H
#define _FNMM_MAP_H

/* "fnmm map [--width N] [--png FILE] [--from FILE]": draw the occupancy. */
int cmd_map(int argc, char **argv);

#endif

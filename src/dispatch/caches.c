/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The cache hierarchy: L1d, L2, L3 from hwloc, then cpuid's cache leaves, then Linux sysfs, then
 * conservative defaults. Each level records the source it came from, so that hpk-info and
 * HPK_VERBOSE can say which figure the blocking was derived from.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(HPK_HAVE_HWLOC)
#include <hwloc.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "src/dispatch/caches.h"

/* A figure outside these bounds is a broken source (a hypervisor's zeros, a parse error), not a
 * cache: the level is dropped and the next source is asked. */
#define CACHE_MIN_BYTES ((size_t)1 << 10)
#define CACHE_MAX_BYTES ((size_t)1 << 36)
#define CACHE_LINE_DEFAULT 64u
#define CACHE_LINE_MAX 1024u

static void clear(struct hpk_cache out[HPK_CACHE_LEVELS])
{
    memset(out, 0, sizeof(struct hpk_cache) * HPK_CACHE_LEVELS);
}

/* Stores one level if its figures are plausible; returns 1 if stored. */
static int store(struct hpk_cache out[HPK_CACHE_LEVELS], unsigned level, size_t size, unsigned line,
                 unsigned assoc, unsigned shared_by, enum hpk_source src)
{
    if (level < 1 || level > HPK_CACHE_LEVELS || size < CACHE_MIN_BYTES || size > CACHE_MAX_BYTES)
        return 0;
    struct hpk_cache *c = &out[level - 1];
    if (c->size != 0)
        return 0; /* the first instance of a level describes it */
    c->size = size;
    /* The line size only bounds the associativity in the blocking model; a missing or odd one
     * gets the universal 64 rather than losing the level. */
    int odd = line == 0 || line > CACHE_LINE_MAX || (line & (line - 1)) != 0;
    c->line = odd ? CACHE_LINE_DEFAULT : line;
    c->assoc = assoc;
    c->shared_by = shared_by;
    c->source = src;
    return 1;
}

static int count_levels(const struct hpk_cache out[HPK_CACHE_LEVELS])
{
    int n = 0;
    for (int i = 0; i < HPK_CACHE_LEVELS; i++)
        n += out[i].size != 0;
    return n;
}

void hpk_caches_default(struct hpk_cache out[HPK_CACHE_LEVELS])
{
    /* Small enough for any x86 or Arm core of the last decade, so that a machine we cannot
     * read gets a blocking that is slow-ish rather than one that thrashes. */
    static const struct hpk_cache def[HPK_CACHE_LEVELS] = {
        {32u << 10, 64, 8, 1, HPK_SRC_DEFAULT},
        {512u << 10, 64, 8, 1, HPK_SRC_DEFAULT},
        {8u << 20, 64, 16, 1, HPK_SRC_DEFAULT},
    };
    memcpy(out, def, sizeof def);
}

/* --- hwloc ---------------------------------------------------------------------------------- */

int hpk_caches_from_hwloc(struct hpk_cache out[HPK_CACHE_LEVELS])
{
    clear(out);
#if defined(HPK_HAVE_HWLOC)
    static const hwloc_obj_type_t types[HPK_CACHE_LEVELS] = {HWLOC_OBJ_L1CACHE, HWLOC_OBJ_L2CACHE,
                                                             HWLOC_OBJ_L3CACHE};
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0)
        return 0;
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return 0;
    }
    for (unsigned lv = 0; lv < HPK_CACHE_LEVELS; lv++) {
        /* Instance 0 sits above the first allowed PU; on a hybrid CPU that is whatever kind of
         * core the OS numbered first. */
        hwloc_obj_t obj = hwloc_get_obj_by_type(topo, types[lv], 0);
        if (obj == NULL || obj->attr == NULL ||
            obj->attr->cache.type == HWLOC_OBJ_CACHE_INSTRUCTION)
            continue;
        int assoc = obj->attr->cache.associativity; /* -1: fully associative, 0: unknown */
        int weight = obj->cpuset ? hwloc_bitmap_weight(obj->cpuset) : 0;
        store(out, lv + 1, (size_t)obj->attr->cache.size, obj->attr->cache.linesize,
              assoc > 0 ? (unsigned)assoc : 0, weight > 0 ? (unsigned)weight : 1, HPK_SRC_HWLOC);
    }
    hwloc_topology_destroy(topo);
#endif
    return count_levels(out);
}

/* --- cpuid ---------------------------------------------------------------------------------- */

#if defined(__x86_64__) || defined(__i386__)
/*
 * Intel's leaf 4 and AMD's leaf 0x8000001D share one format: subleaf i describes one cache,
 * type 0 ends the list. The sharing figure is the number of logical-processor IDs reserved for
 * the cache, an upper bound of the CPUs that actually share it.
 */
static void walk_cache_leaf(unsigned leaf, struct hpk_cache out[HPK_CACHE_LEVELS])
{
    for (unsigned sub = 0; sub < 32; sub++) {
        unsigned a, b, c, d;
        __cpuid_count(leaf, sub, a, b, c, d);
        unsigned type = a & 0x1f;
        if (type == 0)
            break;
        if (type == 2) /* instruction cache */
            continue;
        unsigned level = (a >> 5) & 7;
        unsigned fully = (a >> 9) & 1;
        unsigned sharing = ((a >> 14) & 0xfff) + 1;
        unsigned line = (b & 0xfff) + 1;
        unsigned parts = ((b >> 12) & 0x3ff) + 1;
        unsigned ways = ((b >> 22) & 0x3ff) + 1;
        size_t sets = (size_t)c + 1;
        size_t size = (size_t)ways * parts * line * sets;
        store(out, level, size, line, fully ? 0 : ways, sharing, HPK_SRC_CPUID);
    }
}
#endif

int hpk_caches_from_cpuid(struct hpk_cache out[HPK_CACHE_LEVELS])
{
    clear(out);
#if defined(__x86_64__) || defined(__i386__)
    unsigned max, b, c, d;
    if (!__get_cpuid(0, &max, &b, &c, &d))
        return 0;
    char vendor[13];
    memcpy(vendor, &b, 4);
    memcpy(vendor + 4, &d, 4);
    memcpy(vendor + 8, &c, 4);
    vendor[12] = '\0';
    if (strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0) {
        /* AMD answers leaf 4 with zeros; its leaf 0x8000001D exists with TopologyExtensions. */
        unsigned emax, a1, b1, c1, d1;
        if (__get_cpuid(0x80000000u, &emax, &b1, &c1, &d1) && emax >= 0x8000001Du &&
            __get_cpuid(0x80000001u, &a1, &b1, &c1, &d1) && (c1 & (1u << 22)) != 0)
            walk_cache_leaf(0x8000001Du, out);
    } else if (max >= 4) {
        walk_cache_leaf(4, out);
    }
#endif
    return count_levels(out);
}

/* --- sysfs ---------------------------------------------------------------------------------- */

/* Reads the first line of dir/name into buf without its newline; returns 0 on success. */
static int read_line(const char *dir, const char *name, char *buf, size_t size)
{
    char path[512];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return -1;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char *ok = fgets(buf, (int)size, f);
    fclose(f);
    if (ok == NULL)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* A non-negative decimal that fills the whole string (optionally followed by a K/M/G suffix when
 * suffix_ok); returns 0 on success. */
static int parse_size(const char *s, int suffix_ok, size_t *out)
{
    size_t v = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > ((size_t)-1 - 9) / 10)
            return -1;
        v = v * 10 + (size_t)(*p - '0');
    }
    unsigned shift = 0;
    if (suffix_ok && *p != '\0') {
        switch (*p) {
        case 'K': shift = 10; break;
        case 'M': shift = 20; break;
        case 'G': shift = 30; break;
        default: return -1;
        }
        p++;
    }
    if (*p != '\0' || v > ((size_t)-1 >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

unsigned hpk_cpulist_count(const char *list)
{
    unsigned n = 0;
    const char *p = list;
    while (*p != '\0') {
        char *end;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        if (end == p || !isdigit((unsigned char)*p))
            return 0;
        p = end;
        if (*p == '-') {
            const char *q = p + 1;
            hi = strtoul(q, &end, 10);
            if (end == q || !isdigit((unsigned char)*q) || hi < lo)
                return 0;
            p = end;
        }
        if (hi - lo >= 1u << 20)
            return 0; /* no machine has a million CPUs behind one cache */
        n += (unsigned)(hi - lo + 1);
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return 0;
    }
    return n;
}

int hpk_caches_from_sysfs_dir(const char *cache_dir, struct hpk_cache out[HPK_CACHE_LEVELS])
{
    clear(out);
    /* index<i> are numbered densely from 0 today, but nothing promises it: try them all. */
    for (unsigned i = 0; i < 32; i++) {
        char dir[512], buf[256];
        size_t level, size, line = 0, ways = 0;
        if ((size_t)snprintf(dir, sizeof dir, "%s/index%u", cache_dir, i) >= sizeof dir)
            return count_levels(out);
        if (read_line(dir, "type", buf, sizeof buf) != 0 || strcmp(buf, "Instruction") == 0)
            continue;
        if (read_line(dir, "level", buf, sizeof buf) != 0 || parse_size(buf, 0, &level) != 0)
            continue;
        if (read_line(dir, "size", buf, sizeof buf) != 0 || parse_size(buf, 1, &size) != 0)
            continue;
        /* Line, ways and sharing are optional: some Arm kernels leave them out. */
        if (read_line(dir, "coherency_line_size", buf, sizeof buf) != 0 ||
            parse_size(buf, 0, &line) != 0 || line > CACHE_LINE_MAX)
            line = 0;
        if (read_line(dir, "ways_of_associativity", buf, sizeof buf) != 0 ||
            parse_size(buf, 0, &ways) != 0 || ways > 1u << 16)
            ways = 0;
        unsigned shared = 0;
        if (read_line(dir, "shared_cpu_list", buf, sizeof buf) == 0)
            shared = hpk_cpulist_count(buf);
        if (level > HPK_CACHE_LEVELS)
            continue;
        store(out, (unsigned)level, size, (unsigned)line, (unsigned)ways, shared ? shared : 1,
              HPK_SRC_SYSFS);
    }
    return count_levels(out);
}

int hpk_caches_from_sysfs(struct hpk_cache out[HPK_CACHE_LEVELS])
{
    return hpk_caches_from_sysfs_dir("/sys/devices/system/cpu/cpu0/cache", out);
}

/* --- all together --------------------------------------------------------------------------- */

void hpk_caches_detect(struct hpk_cache out[HPK_CACHE_LEVELS])
{
    int (*const sources[])(struct hpk_cache *) = {hpk_caches_from_hwloc, hpk_caches_from_cpuid,
                                                  hpk_caches_from_sysfs};
    struct hpk_cache found[HPK_CACHE_LEVELS];
    int any = 0;
    clear(out);
    for (size_t s = 0; s < sizeof sources / sizeof sources[0]; s++) {
        if (count_levels(out) == HPK_CACHE_LEVELS)
            break;
        if (sources[s](found) == 0)
            continue;
        any = 1;
        /* Per level, so that a source which misses one level (hwloc in some containers, cpuid
         * under some hypervisors) is completed by the next rather than discarded. */
        for (int lv = 0; lv < HPK_CACHE_LEVELS; lv++)
            if (out[lv].size == 0 && found[lv].size != 0)
                out[lv] = found[lv];
    }
    struct hpk_cache def[HPK_CACHE_LEVELS];
    hpk_caches_default(def);
    if (!any) {
        memcpy(out, def, sizeof def);
        return;
    }
    if (out[0].size == 0)
        out[0] = def[0];
}

/* SPDX-License-Identifier: BSD-3-Clause */
#include "config.h"

#include <pthread.h>
#include <stdint.h>

#include "hpk/common.h"
#include "src/base/alloc.h"
#include "src/base/workspace.h"

/* Each block starts with its capacity; the caller's part begins one alignment unit later. */
#define HEADER HPK_ALIGNMENT
#define MAX_CACHED 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *cached[MAX_CACHED]; /* headers */
static size_t ncached;

/* fork(): the lock is taken around it, so a child never inherits it held by a thread that does
 * not exist there (the child's first GEMM would wait forever). */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void lock_for_fork(void) { pthread_mutex_lock(&lock); }
static void unlock_after_fork(void) { pthread_mutex_unlock(&lock); }
static void register_atfork(void)
{
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);
}

static size_t capacity(void *header) { return *(size_t *)header; }

void *hpk_workspace_acquire(size_t bytes)
{
    size_t best = MAX_CACHED;
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ncached; i++)
        if (capacity(cached[i]) >= bytes &&
            (best == MAX_CACHED || capacity(cached[i]) < capacity(cached[best])))
            best = i;
    void *h = NULL;
    if (best != MAX_CACHED) {
        h = cached[best];
        cached[best] = cached[--ncached];
    }
    pthread_mutex_unlock(&lock);
    if (h == NULL) {
        if (bytes > SIZE_MAX - HEADER)
            return NULL;
        h = hpk_aligned_alloc(bytes + HEADER);
        if (h == NULL)
            return NULL;
        *(size_t *)h = bytes;
    }
    return (char *)h + HEADER;
}

void hpk_workspace_release(void *block)
{
    if (block == NULL)
        return;
    void *h = (char *)block - HEADER, *evict = NULL;
    pthread_mutex_lock(&lock);
    if (ncached < MAX_CACHED) {
        cached[ncached++] = h;
    } else {
        /* Full: keep the larger blocks, which are the expensive ones to make again. */
        size_t smallest = 0;
        for (size_t i = 1; i < ncached; i++)
            if (capacity(cached[i]) < capacity(cached[smallest]))
                smallest = i;
        if (capacity(cached[smallest]) < capacity(h)) {
            evict = cached[smallest];
            cached[smallest] = h;
        } else {
            evict = h;
        }
    }
    pthread_mutex_unlock(&lock);
    hpk_free(evict);
}

size_t hpk_workspace_cached(void)
{
    pthread_mutex_lock(&lock);
    size_t n = ncached;
    pthread_mutex_unlock(&lock);
    return n;
}

void hpk_release_cached_memory(void)
{
    pthread_mutex_lock(&lock);
    size_t n = ncached;
    void *blocks[MAX_CACHED];
    for (size_t i = 0; i < n; i++)
        blocks[i] = cached[i];
    ncached = 0;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < n; i++)
        hpk_free(blocks[i]);
}

/* glibshim.c: the eleven glib functions that the graph-less librrd 1.7.2
 * calls, written over libc, so that mt-trafmon links neither glib nor pcre2
 * (about 1.3 MB less per binary; measurements in README.md, "Sizes").
 * scripts/build-librrd.sh compiles it against the target's glib headers
 * (for the exact types: GList's layout, GError, the flag enums) into
 * libglibshim.a, which librrd.pc's Libs.private names instead of glib.
 *
 * What librrd uses, and so what this file owns (`nm -u librrd.a | grep g_`):
 *   - GList (rrd_create.c: --source files): append, length, free_full.
 *     librrd walks lists with g_list_next() and reads ->data itself, so
 *     GList keeps glib's layout { data, next, prev }.
 *   - GTree (rrd_update.c: the template cache of the argv rrd_update() when
 *     it talks to rrdcached; never reached by the _r calls mt-trafmon makes):
 *     new_full, lookup, insert with glib's semantics, as a plain list.
 *   - GRegex (rrd_create.c, parseDS: one PCRE pattern per DS definition):
 *     new, match, fetch_pos, match-info free, unref, over POSIX <regex.h>.
 *     The pattern is translated to POSIX ERE: "(?:" becomes a plain group
 *     and glib's group numbers are mapped to the POSIX ones. Anything else
 *     that is PCRE-only (other "(?" forms, escapes of letters or digits,
 *     backslashes in brackets, comments, flags other than
 *     G_REGEX_EXTENDED) is refused with an error rather than guessed at, so
 *     a newer librrd with another pattern fails loudly in the tests.
 *
 * Not a glib: no reference counting (librrd holds the only reference), no
 * locking (glib's GTree has none either), abort() when memory runs out (as
 * glib does). Proof that it is equivalent for mt-trafmon: tests/glibshim.rs
 * compares files made through it with files made by Debian's rrdtool, which
 * uses the real glib. When the rrdtool version changes, check the symbol list
 * above again (a new one is a link error) and run that test.
 */
#include <glib.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

/* The pattern librrd passes has 5 groups; room for more costs nothing. */
#define MAX_GROUPS 16

static void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count, size);
    if (p == NULL)
        abort();
    return p;
}

/* ---- GList ---------------------------------------------------------- */

GList *g_list_append(GList *list, gpointer data)
{
    GList *node = xcalloc(1, sizeof *node);
    GList *tail;

    node->data = data;
    if (list == NULL)
        return node;
    for (tail = list; tail->next != NULL; tail = tail->next)
        ;
    tail->next = node;
    node->prev = tail;
    return list;
}

guint g_list_length(GList *list)
{
    guint n = 0;

    for (; list != NULL; list = list->next)
        n++;
    return n;
}

void g_list_free_full(GList *list, GDestroyNotify free_func)
{
    while (list != NULL) {
        GList *next = list->next;

        if (free_func != NULL)
            free_func(list->data);
        free(list);
        list = next;
    }
}

/* ---- GTree (a list: one entry per RRD file updated through rrdcached) -- */

struct tree_entry {
    gpointer key;
    gpointer value;
    struct tree_entry *next;
};

struct _GTree {
    struct tree_entry *entries;
    GCompareDataFunc compare;
    gpointer compare_data;
    GDestroyNotify key_destroy;
    GDestroyNotify value_destroy;
};

GTree *g_tree_new_full(GCompareDataFunc key_compare_func,
                       gpointer key_compare_data,
                       GDestroyNotify key_destroy_func,
                       GDestroyNotify value_destroy_func)
{
    GTree *tree = xcalloc(1, sizeof *tree);

    tree->compare = key_compare_func;
    tree->compare_data = key_compare_data;
    tree->key_destroy = key_destroy_func;
    tree->value_destroy = value_destroy_func;
    return tree;
}

static struct tree_entry *tree_find(GTree *tree, gconstpointer key)
{
    struct tree_entry *e;

    for (e = tree->entries; e != NULL; e = e->next)
        if (tree->compare(e->key, key, tree->compare_data) == 0)
            return e;
    return NULL;
}

gpointer g_tree_lookup(GTree *tree, gconstpointer key)
{
    struct tree_entry *e = tree_find(tree, key);

    return e != NULL ? e->value : NULL;
}

/* glib's rule for an existing key: the old value and the NEW key are
 * destroyed; the stored key stays. */
void g_tree_insert(GTree *tree, gpointer key, gpointer value)
{
    struct tree_entry *e = tree_find(tree, key);

    if (e != NULL) {
        if (tree->value_destroy != NULL)
            tree->value_destroy(e->value);
        if (tree->key_destroy != NULL)
            tree->key_destroy(key);
        e->value = value;
        return;
    }
    e = xcalloc(1, sizeof *e);
    e->key = key;
    e->value = value;
    e->next = tree->entries;
    tree->entries = e;
}

/* ---- GRegex over POSIX ERE -------------------------------------------- */

struct _GRegex {
    regex_t posix;
    /* group_to_posix[n]: the POSIX group that glib's group n became. */
    int group_to_posix[MAX_GROUPS + 1];
    int groups;
};

struct _GMatchInfo {
    gboolean matched;
    int group_to_posix[MAX_GROUPS + 1];
    int groups;
    regmatch_t match[]; /* POSIX groups 0 .. re_nsub */
};

/* librrd reads ->message only and never frees the error: static is fine. */
static GError unsupported_error = {
    0, 0, (gchar *) "PCRE construct not supported by mt-trafmon's glib shim"
};
static GError compile_error = {
    0, 0, (gchar *) "regcomp() refused the translated pattern"
};

static GRegex *refuse(GRegex *re, char *ere, GError *why, GError **error)
{
    free(ere);
    free(re);
    if (error != NULL)
        *error = why;
    return NULL;
}

GRegex *g_regex_new(const gchar *pattern, GRegexCompileFlags compile_options,
                    GRegexMatchFlags match_options, GError **error)
{
    size_t len = strlen(pattern);
    char *ere = xcalloc(len + 1, 1); /* the translation is never longer */
    GRegex *re = xcalloc(1, sizeof *re);
    int posix_groups = 0;
    size_t i = 0, o = 0;

    if ((compile_options & ~G_REGEX_EXTENDED) != 0 || match_options != 0)
        return refuse(re, ere, &unsupported_error, error);
    while (i < len) {
        char c = pattern[i];

        if (c == '\\') {
            /* Only escaped punctuation means the same in PCRE and ERE. */
            char next = pattern[i + 1];
            if (next == '\0' || (next >= '0' && next <= '9') ||
                (next >= 'A' && next <= 'Z') || (next >= 'a' && next <= 'z'))
                return refuse(re, ere, &unsupported_error, error);
            ere[o++] = c;
            ere[o++] = next;
            i += 2;
        } else if (c == '[') {
            /* A bracket expression, copied verbatim; a ']' right after
             * "[" or "[^" is literal. Backslashes differ (an escape in PCRE,
             * literal in POSIX) and POSIX classes like [:alpha:] contain
             * ']': both refused. */
            ere[o++] = pattern[i++];
            if (pattern[i] == '^')
                ere[o++] = pattern[i++];
            if (pattern[i] == ']')
                ere[o++] = pattern[i++];
            while (i < len && pattern[i] != ']') {
                if (pattern[i] == '\\' ||
                    (pattern[i] == '[' && strchr(":.=", pattern[i + 1])))
                    return refuse(re, ere, &unsupported_error, error);
                ere[o++] = pattern[i++];
            }
            if (i == len)
                return refuse(re, ere, &unsupported_error, error);
            ere[o++] = pattern[i++];
        } else if ((compile_options & G_REGEX_EXTENDED) &&
                   (c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
                    c == '\f' || c == '\v')) {
            i++; /* extended syntax: whitespace outside brackets is ignored */
        } else if ((compile_options & G_REGEX_EXTENDED) && c == '#') {
            return refuse(re, ere, &unsupported_error, error);
        } else if (c == '(') {
            posix_groups++;
            if (pattern[i + 1] == '?') {
                if (pattern[i + 2] != ':')
                    return refuse(re, ere, &unsupported_error, error);
                i += 3; /* "(?:" : a group glib does not number */
            } else {
                if (re->groups == MAX_GROUPS)
                    return refuse(re, ere, &unsupported_error, error);
                re->group_to_posix[++re->groups] = posix_groups;
                i++;
            }
            ere[o++] = '(';
        } else {
            ere[o++] = pattern[i++];
        }
    }
    ere[o] = '\0';
    if (regcomp(&re->posix, ere, REG_EXTENDED) != 0)
        return refuse(re, ere, &compile_error, error);
    free(ere);
    return re;
}

void g_regex_unref(GRegex *regex)
{
    if (regex == NULL)
        return;
    regfree(&regex->posix);
    free(regex);
}

/* Always hands back a match info, matched or not: librrd frees it
 * unconditionally. */
gboolean g_regex_match(const GRegex *regex, const gchar *string,
                       GRegexMatchFlags match_options, GMatchInfo **match_info)
{
    size_t slots = regex->posix.re_nsub + 1;
    GMatchInfo *mi = xcalloc(1, sizeof *mi + slots * sizeof(regmatch_t));
    gboolean matched;

    memcpy(mi->group_to_posix, regex->group_to_posix,
           sizeof mi->group_to_posix);
    mi->groups = regex->groups;
    mi->matched = match_options == 0 &&
                  regexec(&regex->posix, string, slots, mi->match, 0) == 0;
    matched = mi->matched;
    if (match_info != NULL)
        *match_info = mi;
    else
        free(mi);
    return matched;
}

/* glib's results: FALSE without a match or for a group the pattern does not
 * have; TRUE with -1, -1 for a group that took no part in the match. */
gboolean g_match_info_fetch_pos(const GMatchInfo *match_info, gint match_num,
                                gint *start_pos, gint *end_pos)
{
    const regmatch_t *m;

    if (match_info == NULL || !match_info->matched || match_num < 0 ||
        match_num > match_info->groups)
        return FALSE;
    m = &match_info->match[match_num == 0
                               ? 0
                               : match_info->group_to_posix[match_num]];
    if (start_pos != NULL)
        *start_pos = (gint) m->rm_so;
    if (end_pos != NULL)
        *end_pos = (gint) m->rm_eo;
    return TRUE;
}

void g_match_info_free(GMatchInfo *match_info)
{
    free(match_info);
}

/* lares-intent-template.c — the sentence template syntax (hassil-like):
 * words, (a|b) alternatives, [optional] parts, {slot} and <rule> references.
 *
 * DESIGN: a recursive-descent parser builds a small tree; expansion turns it
 * into flat sequences of words and slots, handed out one at a time, and
 * refuses to produce more than a cap so a template cannot blow up start-up
 * time.  Nesting depth and rule-reference depth are capped too, which also
 * catches rule cycles.
 * Pure functions over their arguments; safe from any thread.
 */
#include "config.h"

#include "lares-intent-private.h"

#include <stdarg.h>
#include <string.h>

#define MAX_NESTING    16
#define MAX_RULE_DEPTH 8

typedef enum
{
  T_SEQ,
  T_ALT,
  T_OPT,
  T_WORD,
  T_SLOT,
  T_RULE,
} TKind;

struct LaresTemplateNode
{
  TKind kind;
  char *text;      /* (owned) WORD, SLOT and RULE */
  GPtrArray *kids; /* (owned) SEQ, ALT, OPT */
};

void
lares_template_node_free (LaresTemplateNode *node)
{
  if (node == NULL)
    return;
  g_free (node->text);
  if (node->kids != NULL)
    g_ptr_array_unref (node->kids);
  g_free (node);
}

static LaresTemplateNode *
tnode_new (TKind kind)
{
  LaresTemplateNode *n = g_new0 (LaresTemplateNode, 1);
  n->kind = kind;
  if (kind == T_SEQ || kind == T_ALT || kind == T_OPT)
    n->kids = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_template_node_free);
  return n;
}

typedef struct
{
  const char *s;
  size_t len, pos;
  int depth;
  GError **error;
} Parser;

static gboolean perr (Parser *p, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
perr (Parser *p, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (p->error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_SYNTAX, "%s at column %zu", msg,
               p->pos + 1);
  return FALSE;
}

static gboolean
is_special (char c)
{
  return c == '(' || c == ')' || c == '[' || c == ']' || c == '{' || c == '}' || c == '<' ||
         c == '>' || c == '|';
}

static gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static LaresTemplateNode *parse_alt (Parser *p, char close);

static gboolean
parse_name (Parser *p, char close, const char *what, char **out)
{
  size_t start = p->pos;
  while (p->pos < p->len && p->s[p->pos] != close)
    {
      char c = p->s[p->pos];
      if (!(g_ascii_isalnum (c) || c == '_' || c == '-' || c == '.'))
        return perr (p, "bad character in %s name", what);
      p->pos++;
    }
  if (p->pos >= p->len)
    return perr (p, "unclosed %s reference", what);
  if (p->pos == start)
    return perr (p, "empty %s name", what);
  *out = g_strndup (p->s + start, p->pos - start);
  p->pos++;
  return TRUE;
}

static LaresTemplateNode *
parse_seq (Parser *p)
{
  g_autoptr (LaresTemplateNode) seq = tnode_new (T_SEQ);

  for (;;)
    {
      LaresTemplateNode *item = NULL;
      char c;

      while (p->pos < p->len && is_space (p->s[p->pos]))
        p->pos++;
      if (p->pos >= p->len)
        break;
      c = p->s[p->pos];
      if (c == '|' || c == ')' || c == ']')
        break;
      if (c == '\0')
        {
          perr (p, "%s", "NUL byte");
          return NULL;
        }
      if (c == '(' || c == '[')
        {
          char close = c == '(' ? ')' : ']';
          size_t open_at = p->pos;
          p->pos++;
          if (++p->depth > MAX_NESTING)
            {
              perr (p, "%s", "nesting too deep");
              return NULL;
            }
          item = parse_alt (p, close);
          p->depth--;
          if (item == NULL)
            return NULL;
          if (p->pos >= p->len || p->s[p->pos] != close)
            {
              lares_template_node_free (item);
              p->pos = open_at;
              perr (p, "unbalanced '%s'", c == '(' ? "(" : "[");
              return NULL;
            }
          p->pos++;
          if (c == '[')
            {
              LaresTemplateNode *opt = tnode_new (T_OPT);
              g_ptr_array_add (opt->kids, item);
              item = opt;
            }
        }
      else if (c == '{' || c == '<')
        {
          char *name = NULL;
          p->pos++;
          if (!parse_name (p, c == '{' ? '}' : '>', c == '{' ? "slot" : "rule", &name))
            return NULL;
          item = tnode_new (c == '{' ? T_SLOT : T_RULE);
          item->text = name;
        }
      else if (c == '}' || c == '>')
        {
          perr (p, "unexpected '%s'", c == '}' ? "}" : ">");
          return NULL;
        }
      else
        {
          size_t start = p->pos;
          while (p->pos < p->len && !is_space (p->s[p->pos]) && !is_special (p->s[p->pos]) &&
                 p->s[p->pos] != '\0')
            p->pos++;
          item = tnode_new (T_WORD);
          item->text = g_strndup (p->s + start, p->pos - start);
        }
      g_ptr_array_add (seq->kids, item);
    }
  return g_steal_pointer (&seq);
}

static LaresTemplateNode *
parse_alt (Parser *p, char close)
{
  g_autoptr (LaresTemplateNode) alt = tnode_new (T_ALT);

  for (;;)
    {
      LaresTemplateNode *seq = parse_seq (p);
      if (seq == NULL)
        return NULL;
      g_ptr_array_add (alt->kids, seq);
      if (p->pos < p->len && p->s[p->pos] == '|')
        {
          p->pos++;
          continue;
        }
      break;
    }
  if (p->pos < p->len && p->s[p->pos] != close)
    {
      char c[2] = { p->s[p->pos], 0 };
      perr (p, "unexpected '%s'", c);
      return NULL;
    }
  return g_steal_pointer (&alt);
}

LaresTemplateNode *
lares_template_parse (const char *text, size_t len, GError **error)
{
  Parser p = { text, len, 0, 0, error };
  LaresTemplateNode *root = parse_alt (&p, '\0');
  if (root == NULL)
    return NULL;
  if (p.pos < p.len)
    {
      char c[2] = { p.s[p.pos], 0 };
      lares_template_node_free (root);
      perr (&p, "unexpected '%s'", c);
      return NULL;
    }
  return root;
}

/* ---- expansion ---------------------------------------------------------------------------- */

/* Expansion is done in two walks.  The first counts the sequences (sums
 * over alternatives, products over a sequence's parts) and finds every
 * error: an unknown rule, rules nested too deep (a cycle), more sequences
 * than the cap; it checks in the order the sequences would be produced,
 * so the first error is the one reported.  The second walk produces the
 * sequences one at a time, depth first, into one buffer, and hands each to
 * a callback: nothing is built per sequence, so a template of 4096
 * sequences costs no more memory than one (the loader inserts each into
 * its trie as it comes). */

typedef struct
{
  LaresTemplateRuleFunc rules;
  void *user_data;
  size_t max;
  int rule_depth;
  GError **error;
} Expander;

static gboolean
too_many (Expander *x)
{
  g_set_error (x->error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID,
               "template expands to more than %zu sentences", x->max);
  return FALSE;
}

static const LaresTemplateNode *
rule_tree (Expander *x, const LaresTemplateNode *n)
{
  const LaresTemplateNode *r = x->rules != NULL ? x->rules (n->text, x->user_data) : NULL;
  if (r == NULL)
    g_set_error (x->error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID, "unknown rule <%s>",
                 n->text);
  return r;
}

/* The number of sequences @n expands to (at most x->max), or FALSE. */
static gboolean
count (Expander *x, const LaresTemplateNode *n, size_t *out)
{
  size_t total, sub;

  switch (n->kind)
    {
    case T_WORD:
    case T_SLOT:
      *out = 1;
      return TRUE;
    case T_RULE:
      {
        const LaresTemplateNode *r = rule_tree (x, n);
        gboolean ok;
        if (r == NULL)
          return FALSE;
        if (++x->rule_depth > MAX_RULE_DEPTH)
          {
            g_set_error (x->error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID,
                         "rule <%s> nests too deep (a cycle?)", n->text);
            return FALSE;
          }
        ok = count (x, r, out);
        x->rule_depth--;
        return ok;
      }
    case T_OPT:
    case T_ALT:
      total = n->kind == T_OPT ? 1 : 0;
      for (size_t i = 0; i < n->kids->len; i++)
        {
          if (!count (x, n->kids->pdata[i], &sub))
            return FALSE;
          if (total + sub > x->max)
            return too_many (x);
          total += sub;
        }
      *out = total;
      return TRUE;
    case T_SEQ:
    default:
      total = 1;
      for (size_t i = 0; i < n->kids->len; i++)
        {
          if (!count (x, n->kids->pdata[i], &sub))
            return FALSE;
          if (sub != 0 && total > x->max / sub)
            return too_many (x);
          total *= sub;
        }
      *out = total;
      return TRUE;
    }
}

/* The second walk runs on explicit stacks rather than the C stack, so a long
 * template of many groups ("(a) (b) (c) ...") costs heap, not recursion.
 *
 * A Rest is what is left to expand after the current part: the parts of
 * sequence @seq from @kid on, then Rest @next (an index into Producer.rests,
 * -1 for the end).  Tasks run last in, first out:
 * - PRODUCE: every sequence of @node, each followed by every sequence of
 *   Rest @rest;
 * - REST: every sequence of Rest @rest (the end: hand the items out);
 * - RESTORE: cut the items and rests back to @n_items, @n_rests.  An
 *   alternative pushes one between its choices: everything the choice
 *   before added (items, and rests only its own tasks use) is gone by then. */
typedef struct
{
  const LaresTemplateNode *seq;
  size_t kid;
  gssize next;
} Rest;

typedef enum
{
  TASK_PRODUCE,
  TASK_REST,
  TASK_RESTORE,
} TaskKind;

typedef struct
{
  TaskKind kind;
  const LaresTemplateNode *node; /* PRODUCE */
  gssize rest;                   /* PRODUCE, REST */
  size_t n_items, n_rests;       /* RESTORE */
} Task;

typedef struct
{
  Expander x;
  LaresTemplateSeqFunc func;
  void *func_data;
  GArray *items; /* LaresTemplateItem: the sequence so far */
  GArray *rests; /* Rest */
  GArray *tasks; /* Task */
} Producer;

static void
push_task (Producer *p, TaskKind kind, const LaresTemplateNode *node, gssize rest)
{
  Task t = { kind, node, rest, p->items->len, p->rests->len };
  g_array_append_val (p->tasks, t);
}

static void
push_item (Producer *p, const LaresTemplateNode *n)
{
  LaresTemplateItem it = { n->kind == T_WORD ? n->text : NULL, n->kind == T_SLOT ? n->text : NULL };
  g_array_append_val (p->items, it);
}

static gssize
push_rest (Producer *p, const LaresTemplateNode *seq, size_t kid, gssize next)
{
  Rest r = { seq, kid, next };
  g_array_append_val (p->rests, r);
  return (gssize)p->rests->len - 1;
}

static gboolean
produce (Producer *p, const LaresTemplateNode *root)
{
  push_task (p, TASK_PRODUCE, root, -1);
  while (p->tasks->len > 0)
    {
      Task t = g_array_index (p->tasks, Task, p->tasks->len - 1);
      const LaresTemplateNode *n = t.node;

      g_array_set_size (p->tasks, p->tasks->len - 1);
      if (t.kind == TASK_RESTORE)
        {
          g_array_set_size (p->items, t.n_items);
          g_array_set_size (p->rests, t.n_rests);
        }
      else if (t.kind == TASK_PRODUCE)
        switch (n->kind)
          {
          case T_WORD:
          case T_SLOT:
            push_item (p, n);
            push_task (p, TASK_REST, NULL, t.rest);
            break;
          case T_RULE:
            /* count() has checked that it exists and how deep rules nest. */
            push_task (p, TASK_PRODUCE, p->x.rules (n->text, p->x.user_data), t.rest);
            break;
          case T_OPT:
          case T_ALT:
            /* Pushed last choice first, so the first runs first; an
             * optional part's absence comes before its presence. */
            for (size_t i = n->kids->len; i-- > 0;)
              {
                push_task (p, TASK_PRODUCE, n->kids->pdata[i], t.rest);
                if (i > 0 || n->kind == T_OPT)
                  push_task (p, TASK_RESTORE, NULL, -1);
              }
            if (n->kind == T_OPT)
              push_task (p, TASK_REST, NULL, t.rest);
            break;
          case T_SEQ:
          default:
            push_task (p, TASK_REST, NULL, push_rest (p, n, 0, t.rest));
            break;
          }
      else if (t.rest < 0)
        {
          if (!p->func ((const LaresTemplateItem *)(void *)p->items->data, p->items->len,
                        p->func_data, p->x.error))
            return FALSE;
        }
      else
        {
          Rest r = g_array_index (p->rests, Rest, t.rest);
          size_t kid = r.kid;
          /* Words and slots in a row go straight in. */
          for (; kid < r.seq->kids->len; kid++)
            {
              const LaresTemplateNode *k = r.seq->kids->pdata[kid];
              if (k->kind != T_WORD && k->kind != T_SLOT)
                break;
              push_item (p, k);
            }
          if (kid == r.seq->kids->len)
            push_task (p, TASK_REST, NULL, r.next);
          else
            push_task (p, TASK_PRODUCE, r.seq->kids->pdata[kid],
                       push_rest (p, r.seq, kid + 1, r.next));
        }
    }
  return TRUE;
}

gboolean
lares_template_expand_each (const LaresTemplateNode *node, LaresTemplateRuleFunc rules,
                            void *user_data, size_t max, LaresTemplateSeqFunc func, void *func_data,
                            GError **error)
{
  Producer p = { { rules, user_data, max, 0, error }, func, func_data, NULL, NULL, NULL };
  size_t n = 0;
  gboolean ok;

  if (!count (&p.x, node, &n))
    return FALSE;
  p.items = g_array_new (FALSE, FALSE, sizeof (LaresTemplateItem));
  p.rests = g_array_new (FALSE, FALSE, sizeof (Rest));
  p.tasks = g_array_new (FALSE, FALSE, sizeof (Task));
  ok = produce (&p, node);
  g_array_unref (p.items);
  g_array_unref (p.rests);
  g_array_unref (p.tasks);
  return ok;
}

static gboolean
collect (const LaresTemplateItem *items, size_t n, void *data, GError **error)
{
  GArray *seq = g_array_sized_new (FALSE, FALSE, sizeof (LaresTemplateItem), (unsigned)n);
  g_array_append_vals (seq, items, (unsigned)n);
  g_ptr_array_add (data, seq);
  return TRUE;
}

GPtrArray *
lares_template_expand (const LaresTemplateNode *node, LaresTemplateRuleFunc rules, void *user_data,
                       size_t max, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);

  if (!lares_template_expand_each (node, rules, user_data, max, collect, out, error))
    return NULL;
  return g_steal_pointer (&out);
}

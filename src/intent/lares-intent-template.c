/* lares-intent-template.c — the sentence template syntax (hassil-like):
 * words, (a|b) alternatives, [optional] parts, {slot} and <rule> references.
 *
 * DESIGN: a recursive-descent parser builds a small tree; expansion turns it
 * into flat sequences of words and slots, refusing to produce more than a
 * cap so a template cannot blow up start-up time or memory.  Nesting depth
 * and rule-reference depth are capped too, which also catches rule cycles.
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

/* Items borrow their text from the template trees, so a sequence is a
 * flat array copied with memcpy: expansion makes tens of thousands. */
static GArray *
seq_new (size_t reserve)
{
  return g_array_sized_new (FALSE, FALSE, sizeof (LaresTemplateItem), (unsigned)reserve);
}

static void
seq_append (GArray *dst, const GArray *src)
{
  g_array_append_vals (dst, src->data, src->len);
}

static GPtrArray *
seq_list (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify)g_array_unref);
}

typedef struct
{
  LaresTemplateRuleFunc rules;
  void *user_data;
  size_t max;
  int rule_depth;
  GError **error;
} Expander;

static GPtrArray *
expand (Expander *x, const LaresTemplateNode *n)
{
  g_autoptr (GPtrArray) out = seq_list ();

  switch (n->kind)
    {
    case T_WORD:
    case T_SLOT:
      {
        GArray *s = seq_new (1);
        LaresTemplateItem it = { n->kind == T_WORD ? n->text : NULL,
                                 n->kind == T_SLOT ? n->text : NULL };
        g_array_append_val (s, it);
        g_ptr_array_add (out, s);
        break;
      }
    case T_RULE:
      {
        const LaresTemplateNode *r = x->rules != NULL ? x->rules (n->text, x->user_data) : NULL;
        GPtrArray *sub;
        if (r == NULL)
          {
            g_set_error (x->error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID,
                         "unknown rule <%s>", n->text);
            return NULL;
          }
        if (++x->rule_depth > MAX_RULE_DEPTH)
          {
            g_set_error (x->error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID,
                         "rule <%s> nests too deep (a cycle?)", n->text);
            return NULL;
          }
        sub = expand (x, r);
        x->rule_depth--;
        return sub;
      }
    case T_OPT:
    case T_ALT:
      if (n->kind == T_OPT)
        g_ptr_array_add (out, seq_new (0));
      for (size_t i = 0; i < n->kids->len; i++)
        {
          g_autoptr (GPtrArray) sub = expand (x, n->kids->pdata[i]);
          if (sub == NULL)
            return NULL;
          if (out->len + sub->len > x->max)
            goto too_many;
          for (size_t j = 0; j < sub->len; j++)
            g_ptr_array_add (out, g_ptr_array_steal_index (sub, j--));
        }
      break;
    case T_SEQ:
      g_ptr_array_add (out, seq_new (0));
      for (size_t i = 0; i < n->kids->len; i++)
        {
          g_autoptr (GPtrArray) sub = expand (x, n->kids->pdata[i]);
          g_autoptr (GPtrArray) next = seq_list ();
          if (sub == NULL)
            return NULL;
          if (sub->len != 0 && out->len > x->max / sub->len)
            goto too_many;
          for (size_t a = 0; a < out->len; a++)
            for (size_t b = 0; b < sub->len; b++)
              {
                const GArray *head = out->pdata[a], *tail = sub->pdata[b];
                GArray *s = seq_new (head->len + tail->len);
                seq_append (s, head);
                seq_append (s, tail);
                g_ptr_array_add (next, s);
              }
          g_ptr_array_unref (out);
          out = g_steal_pointer (&next);
        }
      break;
    }
  return g_steal_pointer (&out);

too_many:
  g_set_error (x->error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID,
               "template expands to more than %zu sentences", x->max);
  return NULL;
}

GPtrArray *
lares_template_expand (const LaresTemplateNode *node, LaresTemplateRuleFunc rules, void *user_data,
                       size_t max, GError **error)
{
  Expander x = { rules, user_data, max, 0, error };
  return expand (&x, node);
}

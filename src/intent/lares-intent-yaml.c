/* lares-intent-yaml.c — read a YAML document with libyaml into a small tree
 * whose nodes remember their line, so template errors can say FILE:LINE.
 *
 * DESIGN: the event API builds the tree with an explicit stack; aliases and
 * several documents per file are refused (intent files need neither, and
 * aliases would let a tiny file expand without bound), and so are mapping
 * keys that are not scalars (fuzz/corpus/intent-template/crash-*).  Nesting is capped so
 * hostile input cannot exhaust the stack of anything that walks the tree.
 */
#include "config.h"

#include "lares-intent-private.h"

#include <yaml.h>

#define MAX_DEPTH 32

void
lares_yaml_node_free (LaresYamlNode *node)
{
  if (node == NULL)
    return;
  g_free (node->scalar);
  if (node->kids != NULL)
    g_ptr_array_unref (node->kids);
  g_free (node);
}

static LaresYamlNode *
node_new (LaresYamlKind kind, int line)
{
  LaresYamlNode *n = g_new0 (LaresYamlNode, 1);
  n->kind = kind;
  n->line = line;
  if (kind != LARES_YAML_SCALAR)
    n->kids = g_ptr_array_new_with_free_func ((GDestroyNotify)lares_yaml_node_free);
  return n;
}

static void
parser_delete (yaml_parser_t *p)
{
  yaml_parser_delete (p);
}

LaresYamlNode *
lares_yaml_parse (const char *file, const char *data, size_t len, GError **error)
{
  yaml_parser_t parser;
  g_autoptr (GPtrArray) stack = g_ptr_array_new ();
  g_autoptr (LaresYamlNode) root = NULL;
  gboolean done = FALSE;

  if (!yaml_parser_initialize (&parser))
    {
      lares_intent_throw (error, LARES_INTENT_ERROR_IO, file, 0, "cannot start the YAML parser");
      return NULL;
    }
  yaml_parser_set_input_string (&parser, (const unsigned char *)data, len);

  while (!done)
    {
      yaml_event_t ev;
      LaresYamlNode *node = NULL;
      int line;

      if (!yaml_parser_parse (&parser, &ev))
        {
          lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file,
                              (int)parser.problem_mark.line + 1, "bad YAML: %s",
                              parser.problem ? parser.problem : "syntax error");
          parser_delete (&parser);
          return NULL;
        }
      line = (int)ev.start_mark.line + 1;
      switch (ev.type)
        {
        case YAML_STREAM_END_EVENT:
          done = TRUE;
          break;
        case YAML_DOCUMENT_START_EVENT:
          if (root != NULL)
            {
              yaml_event_delete (&ev);
              parser_delete (&parser);
              lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, line,
                                  "only one YAML document per file");
              return NULL;
            }
          break;
        case YAML_ALIAS_EVENT:
          yaml_event_delete (&ev);
          parser_delete (&parser);
          lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, line,
                              "YAML aliases are not supported");
          return NULL;
        case YAML_SCALAR_EVENT:
          node = node_new (LARES_YAML_SCALAR, line);
          node->scalar = g_strndup ((const char *)ev.data.scalar.value, ev.data.scalar.length);
          node->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
          break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
          node = node_new (ev.type == YAML_SEQUENCE_START_EVENT ? LARES_YAML_SEQ : LARES_YAML_MAP,
                           line);
          break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
          g_assert (stack->len > 0);
          g_ptr_array_set_size (stack, stack->len - 1);
          break;
        default:
          break;
        }
      yaml_event_delete (&ev);

      if (node != NULL)
        {
          LaresYamlNode *parent = stack->len > 0 ? stack->pdata[stack->len - 1] : NULL;

          /* Keys are text: every walker reads them as strings. */
          if (parent != NULL && parent->kind == LARES_YAML_MAP && parent->kids->len % 2 == 0 &&
              node->kind != LARES_YAML_SCALAR)
            {
              lares_yaml_node_free (node);
              parser_delete (&parser);
              lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, line,
                                  "a YAML mapping key must be text, not a list or mapping");
              return NULL;
            }
          if (parent != NULL)
            g_ptr_array_add (parent->kids, node);
          else if (root == NULL)
            root = node;
          else
            lares_yaml_node_free (node); /* cannot happen: one document */
          if (node->kind != LARES_YAML_SCALAR)
            {
              if (stack->len >= MAX_DEPTH)
                {
                  parser_delete (&parser);
                  lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, line,
                                      "YAML nested deeper than %d levels", MAX_DEPTH);
                  return NULL;
                }
              g_ptr_array_add (stack, node);
            }
        }
    }
  parser_delete (&parser);
  if (root == NULL)
    root = node_new (LARES_YAML_MAP, 1);
  return g_steal_pointer (&root);
}

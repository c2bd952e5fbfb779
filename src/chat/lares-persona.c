/* lares-persona.c — persona configuration and the emotion tag filter. */
#include "config.h"

#include "lares-persona.h"

#include <string.h>

struct _LaresPersona
{
  char *name;
  char *prompt;
  GHashTable *modes; /* name -> instruction (owned) */
  char *mode_list;
  char **emotions;
};

static gboolean
parse_modes (LaresPersona *p, const char *spec, GError **error)
{
  g_auto (GStrv) items = g_strsplit (spec, ";", -1);
  g_autoptr (GPtrArray) names = g_ptr_array_new ();

  for (char **it = items; *it; it++)
    {
      g_autofree char *item = g_strstrip (g_strdup (*it));
      char *colon = strchr (item, ':');
      g_autofree char *name = NULL;

      if (*item == '\0')
        continue;
      if (colon == NULL || colon == item)
        {
          g_set_error (error, LARES_CONFIG_ERROR, LARES_CONFIG_ERROR_INVALID_VALUE,
                       "persona.modes: '%s' is not 'name: instruction'", item);
          return FALSE;
        }
      name = g_ascii_strdown (item, colon - item);
      g_strstrip (name);
      if (!g_hash_table_contains (p->modes, name))
        g_ptr_array_add (names, name);
      g_hash_table_insert (p->modes, g_steal_pointer (&name), g_strstrip (g_strdup (colon + 1)));
    }
  g_ptr_array_add (names, NULL);
  p->mode_list = g_strjoinv (", ", (char **)names->pdata);
  return TRUE;
}

LaresPersona *
lares_persona_new (const LaresConfig *cfg, GError **error)
{
  g_autoptr (LaresPersona) p = g_new0 (LaresPersona, 1);
  g_autoptr (GString) prompt = g_string_new (cfg->persona_prompt);
  g_auto (GStrv) emotions = g_strsplit (cfg->persona_emotions, ",", -1);
  GPtrArray *list = g_ptr_array_new ();

  p->name = g_strdup (cfg->persona_name);
  g_string_replace (prompt, "{name}", cfg->persona_name, 0);
  p->prompt = g_string_free (g_steal_pointer (&prompt), FALSE);
  p->modes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  for (char **e = emotions; *e; e++)
    {
      char *name = g_strstrip (g_ascii_strdown (*e, -1));
      if (*name == '\0' || strlen (name) > LARES_EMOTION_NAME_MAX || strchr (name, ']') ||
          strchr (name, '['))
        {
          g_free (name);
          continue;
        }
      g_ptr_array_add (list, name);
    }
  g_ptr_array_add (list, NULL);
  p->emotions = (char **)g_ptr_array_free (list, FALSE);
  if (!parse_modes (p, cfg->persona_modes, error))
    return NULL;
  return g_steal_pointer (&p);
}

void
lares_persona_free (LaresPersona *p)
{
  if (p == NULL)
    return;
  g_free (p->name);
  g_free (p->prompt);
  if (p->modes)
    g_hash_table_unref (p->modes);
  g_free (p->mode_list);
  g_strfreev (p->emotions);
  g_free (p);
}

const char *
lares_persona_get_name (const LaresPersona *p)
{
  return p->name;
}

const char *
lares_persona_get_prompt (const LaresPersona *p)
{
  return p->prompt;
}

const char *
lares_persona_get_mode (const LaresPersona *p, const char *mode)
{
  return mode ? g_hash_table_lookup (p->modes, mode) : NULL;
}

const char *
lares_persona_list_modes (const LaresPersona *p)
{
  return p->mode_list;
}

gboolean
lares_persona_is_emotion (const LaresPersona *p, const char *name, size_t len,
                          const char **canonical)
{
  for (char **e = p->emotions; *e; e++)
    if (strlen (*e) == len && g_ascii_strncasecmp (*e, name, len) == 0)
      {
        if (canonical)
          *canonical = *e;
        return TRUE;
      }
  return FALSE;
}

/* ---- the tag filter ------------------------------------------------------------------------- */

void
lares_emotion_filter_init (LaresEmotionFilter *f, const LaresPersona *persona)
{
  memset (f, 0, sizeof *f);
  f->persona = persona;
}

/* Append visible text, dropping whitespace before the first visible byte. */
static size_t
emit (LaresEmotionFilter *f, const char *s, size_t n, GString *out)
{
  if (!f->started)
    {
      while (n > 0 && g_ascii_isspace (*s))
        s++, n--;
      if (n == 0)
        return 0;
      f->started = TRUE;
    }
  g_string_append_len (out, s, n);
  return n;
}

static gboolean
tag_char (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '-';
}

size_t
lares_emotion_filter_feed (LaresEmotionFilter *f, const char *text, size_t len, GString *out,
                           GPtrArray *emotions)
{
  size_t emitted = 0;
  size_t i = 0;

  while (i < len)
    {
      if (f->n_held == 0)
        {
          /* Fast path: copy up to the next '['. */
          const char *br = memchr (text + i, '[', len - i);
          size_t upto = br ? (size_t)(br - text) : len;

          emitted += emit (f, text + i, upto - i, out);
          i = upto;
          if (i < len)
            f->held[f->n_held++] = text[i++];
          continue;
        }
      /* Inside a possible tag "[name". */
      char c = text[i];
      if (c == ']')
        {
          const char *canonical = NULL;
          if (lares_persona_is_emotion (f->persona, f->held + 1, f->n_held - 1, &canonical))
            {
              if (emotions)
                g_ptr_array_add (emotions, (gpointer)canonical);
              f->n_held = 0;
              i++;
              /* A tag followed by a space: keep one space between words only. */
              continue;
            }
          f->held[f->n_held++] = c;
          emitted += emit (f, f->held, f->n_held, out);
          f->n_held = 0;
          i++;
          continue;
        }
      if (tag_char (c) && f->n_held < LARES_EMOTION_NAME_MAX + 1)
        {
          f->held[f->n_held++] = c;
          i++;
          continue;
        }
      /* Not a tag after all: release what was held and look at c again. */
      emitted += emit (f, f->held, f->n_held, out);
      f->n_held = 0;
      if (c == '[')
        {
          f->held[f->n_held++] = c;
          i++;
        }
    }
  return emitted;
}

size_t
lares_emotion_filter_flush (LaresEmotionFilter *f, GString *out)
{
  size_t n = emit (f, f->held, f->n_held, out);
  f->n_held = 0;
  return n;
}

/* ---- tool calls written as text ------------------------------------------------------------- */

static const char *
skip_fence (const char *p, const char **end)
{
  while (g_ascii_isspace (*p))
    p++;
  *end = p + strlen (p);
  while (*end > p && g_ascii_isspace ((*end)[-1]))
    (*end)--;
  if (g_str_has_prefix (p, "```"))
    {
      p += 3;
      while (g_ascii_isalpha (*p))
        p++;
      if (*end - p >= 3 && strncmp (*end - 3, "```", 3) == 0)
        *end -= 3;
    }
  return p;
}

gboolean
lares_persona_maybe_text_tool_call (const char *text, size_t len)
{
  size_t i = 0;

  while (i < len && g_ascii_isspace (text[i]))
    i++;
  if (i == len)
    return TRUE; /* nothing visible yet */
  if (text[i] == '{')
    return TRUE;
  if (text[i] == '`')
    return strncmp (text + i, "```", MIN (len - i, 3)) == 0;
  return FALSE;
}

gboolean
lares_persona_parse_text_tool_call (const char *text, char **name, char **arguments)
{
  g_autoptr (JsonParser) parser = NULL;
  g_autofree char *body = NULL;
  const char *end, *p = skip_fence (text, &end);
  JsonObject *o;
  JsonNode *args, *root;
  const char *tool;

  while (p < end && g_ascii_isspace (*p))
    p++;
  if (p >= end || *p != '{')
    return FALSE;
  /* Only now a parser: most answers are plain text. */
  parser = json_parser_new_immutable ();
  body = g_strndup (p, end - p);
  if (!json_parser_load_from_data (parser, body, -1, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  o = json_node_get_object (root);
  tool = json_object_get_string_member_with_default (o, "tool", NULL);
  if (tool == NULL)
    tool = json_object_get_string_member_with_default (o, "name", NULL);
  args = json_object_get_member (o, "arguments");
  if (args == NULL)
    args = json_object_get_member (o, "parameters");
  if (tool == NULL || *tool == '\0')
    return FALSE;
  *name = g_strdup (tool);
  if (args == NULL)
    *arguments = g_strdup ("{}");
  else if (JSON_NODE_HOLDS_VALUE (args) && json_node_get_value_type (args) == G_TYPE_STRING)
    *arguments = g_strdup (json_node_get_string (args));
  else
    *arguments = json_to_string (args, FALSE);
  return TRUE;
}

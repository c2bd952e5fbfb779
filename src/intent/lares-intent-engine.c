/* lares-intent-engine.c — loading the intent files, compiling every template
 * into one token trie, and matching a sentence against it.
 *
 * DESIGN: loading reads each LANG/NAME.yaml file into a tree (two passes:
 * language tables, slots, lists and rules first, then intents, so a file may
 * use a rule defined in another).  Every template expands into token
 * sequences; all sequences of all intents share one trie whose literal edges
 * follow interned word ids and whose slot edges try spans of the input.
 * Once loaded the trie is frozen into flat arrays (engine_freeze()), and
 * every word of the templates and the date table carries its flags and
 * date-parser classification, so a match hashes each input token once.
 * Slot parses are memoised per (slot, start, end) for the duration of one
 * match, so the cost of a sentence does not grow with the number of
 * templates that share a slot, and a slot edge stops at the longest span its
 * parser could read (span_limit()).  The engine is read-only after loading;
 * a match keeps its state on its own stack and heap, so matches may run on
 * several threads at once.
 */
#include "config.h"

#include "lares-intent-private.h"
#include "lares-intents-resources.h"

#include <math.h>
#include <string.h>

/* Bounds one match's search so hostile input cannot make it slow. */
#define MAX_STEPS 200000
#define MAX_BINDS 8

/* ---- entities ------------------------------------------------------------------------ */

struct _LaresIntentEntities
{
  GHashTable *by_kind; /* kind -> GPtrArray of names */
};

LaresIntentEntities *
lares_intent_entities_new (void)
{
  LaresIntentEntities *e = g_new0 (LaresIntentEntities, 1);
  e->by_kind =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  return e;
}

void
lares_intent_entities_free (LaresIntentEntities *entities)
{
  if (entities == NULL)
    return;
  g_hash_table_unref (entities->by_kind);
  g_free (entities);
}

void
lares_intent_entities_add (LaresIntentEntities *entities, const char *kind, const char *name)
{
  GPtrArray *names;
  g_return_if_fail (entities != NULL && kind != NULL && name != NULL);
  names = g_hash_table_lookup (entities->by_kind, kind);
  if (names == NULL)
    {
      names = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_insert (entities->by_kind, g_strdup (kind), names);
    }
  for (size_t i = 0; i < names->len; i++)
    if (strcmp (names->pdata[i], name) == 0)
      return;
  g_ptr_array_add (names, g_strdup (name));
}

/* ---- engine ------------------------------------------------------------------------------ */

typedef enum
{
  SLOT_TEXT,
  SLOT_DATETIME,
  SLOT_DAY,
  SLOT_DURATION,
  SLOT_RECURRENCE,
  SLOT_NUMBER,
  SLOT_ENTITY,
  SLOT_LIST,
} SlotType;

typedef struct
{
  char *name;
  SlotType type;
  char *arg;      /* entity kind or list name */
  int max_tokens; /* list: the most words in one of its phrases */
} SlotDef;

typedef struct
{
  char *name;
  char *tool;
  char *description;
} IntentDef;

/* One sentence template: what a complete path leads to. */
typedef struct
{
  int intent;
  JsonObject *args; /* (owned ref) the group's args */
  char *where;      /* "FILE:LINE" */
  char *text;
} Target;

/* The trie while loading.  Nodes and their edge arrays come from a Pool
 * (bump allocation in large blocks, all freed at once when the trie is
 * frozen): about 7 MB of short-lived pieces for the English set, which as
 * separate mallocs were interleaved with what the engine keeps (words,
 * targets, tables) and left those few hundred KB scattered over pages the
 * allocator could not give back.  Plain structs, not GLib containers, for
 * the same reason (GLib 2.74's slices stay cached after loading). */
typedef struct Node Node;
typedef struct
{
  int slot;
  Node *child;
} SlotEdge;

typedef struct
{
  uint32_t word; /* Word id; sorted */
  Node *child;
} LitEdge;

struct Node
{
  LitEdge *lit;    /* n_lit of them, sorted by word */
  SlotEdge *slots; /* in the order templates add them */
  int *terms;      /* target indices, likewise */
  uint32_t n_lit, n_slot, n_term;
};

typedef struct PoolBlock PoolBlock;
struct PoolBlock
{
  PoolBlock *next;
  size_t used, size;
  max_align_t data[];
};

typedef struct
{
  PoolBlock *head;
} Pool;

#define POOL_BLOCK (1024 * 1024)

/* @size bytes, aligned for any type, until pool_clear(). */
static void *
pool_alloc (Pool *pool, size_t size)
{
  PoolBlock *b = pool->head;
  void *p;

  size = (size + sizeof (max_align_t) - 1) & ~(sizeof (max_align_t) - 1);
  if (b == NULL || b->size - b->used < size)
    {
      size_t cap = MAX (size, (size_t)POOL_BLOCK - sizeof (PoolBlock));
      b = g_malloc (sizeof (PoolBlock) + cap);
      b->next = pool->head;
      b->used = 0;
      b->size = cap;
      pool->head = b;
    }
  p = (char *)b->data + b->used;
  b->used += size;
  return p;
}

static void
pool_clear (Pool *pool)
{
  while (pool->head != NULL)
    {
      PoolBlock *b = pool->head;
      pool->head = b->next;
      g_free (b);
    }
}

/* Room for one more in a pool array of @n that grows by doubling (the old
 * copy stays in the pool until it is cleared: at most as much again). */
#define GROW(pool, arr, n)                                                                         \
  do                                                                                               \
    {                                                                                              \
      if (((n) & ((n)-1)) == 0)                                                                    \
        {                                                                                          \
          void *grown_ = pool_alloc ((pool), ((n) == 0 ? 1 : 2 * (size_t)(n)) * sizeof *(arr));    \
          if ((n) > 0)                                                                             \
            memcpy (grown_, (arr), (size_t)(n) * sizeof *(arr));                                   \
          (arr) = grown_;                                                                          \
        }                                                                                          \
    }                                                                                              \
  while (0)

/* The trie once loaded (engine_freeze()): nodes in depth-first order in one
 * array, each node's edges and targets a run of one shared array.  The runs
 * are laid out in node order, so a node's run ends where the next node's
 * begins and a node needs only the three starts (t_nodes has one more entry
 * than there are nodes, closing the last runs).  What the matcher walks:
 * 1.1 MiB for the English set's 53,600 nodes, a sixth of the loading form. */
typedef struct
{
  uint32_t word; /* Word id; a node's literal edges are sorted by it */
  uint32_t child;
} TLit;

typedef struct
{
  int slot;
  uint32_t child;
} TSlot;

typedef struct
{
  uint32_t lit;  /* run of e->t_lits up to the next node's lit */
  uint32_t slot; /* run of e->t_slots, in the order the templates added them */
  uint32_t term; /* run of e->t_terms (target indices), likewise */
} TNode;

#define N_LIT(n)  ((n)[1].lit - (n)[0].lit)
#define N_SLOT(n) ((n)[1].slot - (n)[0].slot)
#define N_TERM(n) ((n)[1].term - (n)[0].term)

/* Every word of the templates and of the date table, interned: the matcher
 * looks each input token up once and then compares ids and reads flags
 * instead of hashing strings.  Id 0 is a word we do not know. */
typedef struct
{
  int role;           /* LaresDateRole, or 0 */
  gboolean month;     /* a month name */
  gboolean date_word; /* lares_intent_is_date_word() */
  LaresIntentDateTok dt;
} Word;

struct _LaresIntentEngine
{
  LaresIntentLang *lang;
  GPtrArray *slots;       /* SlotDef* */
  GHashTable *slot_index; /* name -> index + 1 */
  GHashTable *lists;      /* name -> (normalized phrase -> value) */
  GHashTable *rules;      /* name -> LaresTemplateNode* */
  GPtrArray *intents;     /* IntentDef* */
  GHashTable *intent_index;
  GPtrArray *targets; /* Target* */
  Pool pool;          /* the loading trie's nodes and edges; only while loading */
  struct
  {
    size_t nodes, lits, slots, terms;
  } loading;      /* counts of the loading trie's parts, to size the frozen arrays */
  TNode *t_nodes; /* (owned) the frozen trie, n_nodes + 1 entries; [0] is the root */
  TLit *t_lits;   /* (owned) */
  TSlot *t_slots; /* (owned) */
  int *t_terms;   /* (owned) */
  size_t n_nodes;
  GHashTable *vocab;      /* word -> id (index in words + 1) */
  GArray *words;          /* Word, by id - 1 */
  GHashTable *norm_cache; /* literal run -> RunIds, both in the pool; only while loading */
  Node *root;
  size_t n_paths;
  char *capabilities;
};

static void
slot_def_free (gpointer p)
{
  SlotDef *s = p;
  g_free (s->name);
  g_free (s->arg);
  g_free (s);
}

static void
intent_def_free (gpointer p)
{
  IntentDef *d = p;
  g_free (d->name);
  g_free (d->tool);
  g_free (d->description);
  g_free (d);
}

static void
target_free (gpointer p)
{
  Target *t = p;
  json_object_unref (t->args);
  g_free (t->where);
  g_free (t->text);
  g_free (t);
}

static Node *
node_new (LaresIntentEngine *e)
{
  Node *n = pool_alloc (&e->pool, sizeof (Node));
  memset (n, 0, sizeof *n);
  e->loading.nodes++;
  return n;
}

void
lares_intent_engine_free (LaresIntentEngine *e)
{
  if (e == NULL)
    return;
  lares_intent_lang_free (e->lang);
  g_ptr_array_unref (e->slots);
  g_hash_table_unref (e->slot_index);
  g_hash_table_unref (e->lists);
  g_hash_table_unref (e->rules);
  g_ptr_array_unref (e->intents);
  g_hash_table_unref (e->intent_index);
  g_ptr_array_unref (e->targets);
  pool_clear (&e->pool);
  g_free (e->t_nodes);
  g_free (e->t_lits);
  g_free (e->t_slots);
  g_free (e->t_terms);
  g_hash_table_unref (e->vocab);
  g_array_unref (e->words);
  g_clear_pointer (&e->norm_cache, g_hash_table_unref);
  g_free (e->capabilities);
  g_free (e);
}

static LaresIntentEngine *
engine_new (void)
{
  LaresIntentEngine *e = g_new0 (LaresIntentEngine, 1);
  e->lang = lares_intent_lang_new ();
  e->slots = g_ptr_array_new_with_free_func (slot_def_free);
  e->slot_index = g_hash_table_new (g_str_hash, g_str_equal);
  e->lists =
      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_hash_table_unref);
  e->rules = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                    (GDestroyNotify)lares_template_node_free);
  e->intents = g_ptr_array_new_with_free_func (intent_def_free);
  e->intent_index = g_hash_table_new (g_str_hash, g_str_equal);
  e->targets = g_ptr_array_new_with_free_func (target_free);
  e->vocab = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  e->words = g_array_new (FALSE, TRUE, sizeof (Word));
  e->root = node_new (e);
  e->norm_cache = g_hash_table_new (g_str_hash, g_str_equal);
  return e;
}

size_t
lares_intent_engine_get_n_paths (const LaresIntentEngine *engine)
{
  g_return_val_if_fail (engine != NULL, 0);
  return engine->n_paths;
}

const char *
lares_intent_engine_get_capabilities (const LaresIntentEngine *engine)
{
  g_return_val_if_fail (engine != NULL, NULL);
  return engine->capabilities;
}

const LaresIntentLang *
lares_intent_engine_get_lang (const LaresIntentEngine *engine)
{
  return engine->lang;
}

/* ---- loading -----------------------------------------------------------------------------------
 */

typedef struct
{
  char *name; /* for messages: the path as given */
  LaresYamlNode *root;
} LoadedFile;

static gboolean
want (const char *file, const LaresYamlNode *n, LaresYamlKind kind, const char *what,
      GError **error)
{
  static const char *const names[] = { "a scalar", "a list", "a mapping" };
  if (n->kind == kind)
    return TRUE;
  return lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, n->line, "%s must be %s", what,
                             names[kind]);
}

static char *
normalize_join (const LaresIntentEngine *e, const char *text)
{
  g_autoptr (GArray) toks = lares_intent_normalize (e->lang, text, strlen (text));
  return lares_intent_tokens_join (toks, 0, toks->len);
}

/* Phrases are normalized tokens joined by single spaces. */
static int
list_max_tokens (GHashTable *list)
{
  GHashTableIter it;
  gpointer key;
  int most = 0;

  g_hash_table_iter_init (&it, list);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      int n = 1;
      for (const char *c = key; *c; c++)
        n += *c == ' ';
      most = MAX (most, n);
    }
  return most;
}

static gboolean
load_slots (LaresIntentEngine *e, const char *file, const LaresYamlNode *n, GError **error)
{
  static const struct
  {
    const char *name;
    SlotType type;
  } types[] = {
    { "text", SLOT_TEXT },         { "datetime", SLOT_DATETIME },     { "day", SLOT_DAY },
    { "duration", SLOT_DURATION }, { "recurrence", SLOT_RECURRENCE }, { "number", SLOT_NUMBER },
  };

  if (!want (file, n, LARES_YAML_MAP, "slots", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      SlotDef *def;
      if (!want (file, k, LARES_YAML_SCALAR, "slot name", error) ||
          !want (file, v, LARES_YAML_SCALAR, "slot type", error))
        return FALSE;
      if (g_hash_table_contains (e->slot_index, k->scalar))
        return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                   "slot '%s' defined twice", k->scalar);
      def = g_new0 (SlotDef, 1);
      def->name = g_strdup (k->scalar);
      def->type = (SlotType)-1;
      for (size_t t = 0; t < G_N_ELEMENTS (types); t++)
        if (strcmp (v->scalar, types[t].name) == 0)
          def->type = types[t].type;
      if (g_str_has_prefix (v->scalar, "entity:") && v->scalar[7] != '\0')
        {
          def->type = SLOT_ENTITY;
          def->arg = g_strdup (v->scalar + 7);
        }
      else if (g_str_has_prefix (v->scalar, "list:"))
        {
          def->type = SLOT_LIST;
          def->arg = g_strdup (v->scalar + 5);
          if (!g_hash_table_contains (e->lists, def->arg))
            {
              slot_def_free (def);
              return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, v->line,
                                         "unknown list '%s' (define lists before the slots "
                                         "that use them)",
                                         v->scalar + 5);
            }
          def->max_tokens = list_max_tokens (g_hash_table_lookup (e->lists, def->arg));
        }
      if ((int)def->type == -1)
        {
          slot_def_free (def);
          return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, v->line,
                                     "unknown slot type '%s'", v->scalar);
        }
      g_ptr_array_add (e->slots, def);
      g_hash_table_insert (e->slot_index, def->name, GINT_TO_POINTER (e->slots->len));
    }
  return TRUE;
}

static gboolean
load_lists (LaresIntentEngine *e, const char *file, const LaresYamlNode *n, GError **error)
{
  if (!want (file, n, LARES_YAML_MAP, "lists", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      g_autoptr (GHashTable) values = NULL;
      if (!want (file, k, LARES_YAML_SCALAR, "list name", error) ||
          !want (file, v, LARES_YAML_MAP, "list values", error))
        return FALSE;
      values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      for (size_t j = 0; j + 1 < v->kids->len; j += 2)
        {
          const LaresYamlNode *lk = v->kids->pdata[j], *lv = v->kids->pdata[j + 1];
          char *key;
          if (!want (file, lk, LARES_YAML_SCALAR, "list entry", error) ||
              !want (file, lv, LARES_YAML_SCALAR, "list value", error))
            return FALSE;
          key = normalize_join (e, lk->scalar);
          if (*key == '\0')
            {
              g_free (key);
              return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, lk->line,
                                         "list entry '%s' is empty after normalization",
                                         lk->scalar);
            }
          g_hash_table_insert (values, key, g_strdup (lv->scalar));
        }
      g_hash_table_insert (e->lists, g_strdup (k->scalar), g_steal_pointer (&values));
    }
  return TRUE;
}

static gboolean
load_rules (LaresIntentEngine *e, const char *file, const LaresYamlNode *n, GError **error)
{
  if (!want (file, n, LARES_YAML_MAP, "expansion_rules", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      g_autoptr (GError) local = NULL;
      LaresTemplateNode *t;
      if (!want (file, k, LARES_YAML_SCALAR, "rule name", error) ||
          !want (file, v, LARES_YAML_SCALAR, "rule", error))
        return FALSE;
      t = lares_template_parse (v->scalar, strlen (v->scalar), &local);
      if (t == NULL)
        return lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, v->line, "rule <%s>: %s",
                                   k->scalar, local->message);
      g_hash_table_replace (e->rules, g_strdup (k->scalar), t);
    }
  return TRUE;
}

static const LaresTemplateNode *
rule_lookup (const char *name, void *user_data)
{
  LaresIntentEngine *e = user_data;
  return g_hash_table_lookup (e->rules, name);
}

/* An arg value "{slot}" or "{slot.field}": the slot name (transfer full). */
static char *
arg_ref (JsonNode *v, char **field)
{
  const char *s, *dot;
  size_t len;
  if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
    return NULL;
  s = json_node_get_string (v);
  len = strlen (s);
  if (len < 3 || s[0] != '{' || s[len - 1] != '}')
    return NULL;
  dot = memchr (s, '.', len);
  if (field != NULL)
    *field = dot != NULL ? g_strndup (dot + 1, (size_t)(s + len - 1 - dot - 1)) : NULL;
  return g_strndup (s + 1, (dot != NULL ? (size_t)(dot - s) : len - 1) - 1);
}

static JsonNode *
yaml_to_json (const LaresYamlNode *n)
{
  JsonNode *out;
  if (n->kind == LARES_YAML_SCALAR)
    {
      char *end = NULL;
      gint64 x;
      out = json_node_new (JSON_NODE_VALUE);
      if (n->plain && (strcmp (n->scalar, "true") == 0 || strcmp (n->scalar, "false") == 0))
        json_node_set_boolean (out, n->scalar[0] == 't');
      else if (n->plain && n->scalar[0] != '\0' &&
               (x = g_ascii_strtoll (n->scalar, &end, 10), *end == '\0'))
        json_node_set_int (out, x);
      else
        json_node_set_string (out, n->scalar);
      return out;
    }
  if (n->kind == LARES_YAML_SEQ)
    {
      JsonArray *a = json_array_new ();
      for (size_t i = 0; i < n->kids->len; i++)
        json_array_add_element (a, yaml_to_json (n->kids->pdata[i]));
      out = json_node_new (JSON_NODE_ARRAY);
      json_node_take_array (out, a);
      return out;
    }
  JsonObject *o = json_object_new ();
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i];
      json_object_set_member (o, k->kind == LARES_YAML_SCALAR ? k->scalar : "",
                              yaml_to_json (n->kids->pdata[i + 1]));
    }
  out = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (out, o);
  return out;
}

static uint32_t
word_intern (LaresIntentEngine *e, const char *w)
{
  uint32_t id = GPOINTER_TO_UINT (g_hash_table_lookup (e->vocab, w));
  if (id == 0)
    {
      Word info = { 0 };
      g_array_append_val (e->words, info);
      id = e->words->len;
      g_hash_table_insert (e->vocab, g_strdup (w), GUINT_TO_POINTER (id));
    }
  return id;
}

static void
intern_table (LaresIntentEngine *e, GHashTable *table)
{
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init (&it, table);
  while (g_hash_table_iter_next (&it, &key, NULL))
    word_intern (e, key);
}

typedef struct
{
  TNode *nodes;
  TLit *lits;
  TSlot *slots;
  int *terms;
  TNode next; /* where the next node's runs start */
  uint32_t n_nodes;
} Freezer;

/* Copy @n and (depth first) its children into the flat arrays; returns its
 * index.  A node's three runs are reserved before any child is copied, so
 * runs follow node order and each stays contiguous. */
static uint32_t
freeze_node (Freezer *f, const Node *n)
{
  uint32_t idx = f->n_nodes++;
  TNode t = f->next;

  f->nodes[idx] = t;
  f->next.lit += n->n_lit;
  f->next.slot += n->n_slot;
  f->next.term += n->n_term;
  if (n->n_term > 0)
    memcpy (&f->terms[t.term], n->terms, n->n_term * sizeof (int));
  for (uint32_t k = 0; k < n->n_lit; k++)
    f->lits[t.lit + k] = (TLit){ n->lit[k].word, freeze_node (f, n->lit[k].child) };
  for (uint32_t k = 0; k < n->n_slot; k++)
    f->slots[t.slot + k] = (TSlot){ n->slots[k].slot, freeze_node (f, n->slots[k].child) };
  return idx;
}

/* After loading: the date table's words get ids too, every word its flags,
 * and the trie is copied into its flat form (each array allocated once, at
 * its final size) before the loading form is freed. */
static void
engine_freeze (LaresIntentEngine *e)
{
  const LaresIntentLang *l = e->lang;
  GHashTableIter it;
  gpointer key, value;

  intern_table (e, l->roles);
  intern_table (e, l->weekdays);
  intern_table (e, l->months);
  intern_table (e, l->ordinals);
  intern_table (e, l->units);
  g_hash_table_iter_init (&it, e->vocab);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      Word *w = &g_array_index (e->words, Word, GPOINTER_TO_UINT (value) - 1);
      w->role = GPOINTER_TO_INT (g_hash_table_lookup (l->roles, key));
      w->month = g_hash_table_contains (l->months, key);
      w->date_word = lares_intent_is_date_word (l, key);
      lares_intent_date_tok_init (l, key, &w->dt);
    }
  {
    Freezer f = {
      g_new (TNode, e->loading.nodes + 1),
      g_new (TLit, MAX (e->loading.lits, 1)),
      g_new (TSlot, MAX (e->loading.slots, 1)),
      g_new (int, MAX (e->loading.terms, 1)),
      { 0 },
      0,
    };
    freeze_node (&f, e->root);
    g_assert (f.n_nodes == e->loading.nodes && f.next.lit == e->loading.lits &&
              f.next.slot == e->loading.slots && f.next.term == e->loading.terms);
    f.nodes[f.n_nodes] = f.next;
    e->n_nodes = f.n_nodes;
    e->t_nodes = f.nodes;
    e->t_lits = f.lits;
    e->t_slots = f.slots;
    e->t_terms = f.terms;
    pool_clear (&e->pool);
    e->root = NULL;
  }
}

#define NO_NODE G_MAXUINT32

static uint32_t
lit_child (const LaresIntentEngine *e, const TNode *n, uint32_t word)
{
  const TLit *edges = e->t_lits + n->lit;
  uint32_t lo = 0, hi = N_LIT (n);
  if (word == 0)
    return NO_NODE;
  while (lo < hi)
    {
      uint32_t mid = lo + (hi - lo) / 2;
      if (edges[mid].word < word)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo < N_LIT (n) && edges[lo].word == word ? edges[lo].child : NO_NODE;
}

/* A run of literal template words, normalized, as word ids. */
typedef struct
{
  uint32_t n;
  uint32_t ids[];
} RunIds;

/* Expansions repeat the same literal runs many times over (about 12,000
 * distinct runs of 230 words for the English set): each is normalized once,
 * and the cache lives in the loading pool. */
static const RunIds *
run_ids (LaresIntentEngine *e, const GString *run)
{
  LaresIntentNorm norm;
  RunIds *ids = g_hash_table_lookup (e->norm_cache, run->str);
  char *key;

  if (ids != NULL)
    return ids;
  lares_intent_normalize_into (e->lang, run->str, run->len, &norm);
  ids = pool_alloc (&e->pool, sizeof (RunIds) + norm.n_toks * sizeof (uint32_t));
  ids->n = (uint32_t)norm.n_toks;
  for (size_t t = 0; t < norm.n_toks; t++)
    ids->ids[t] = word_intern (e, norm.toks[t].text);
  lares_intent_norm_clear (&norm);
  key = pool_alloc (&e->pool, run->len + 1);
  memcpy (key, run->str, run->len + 1);
  g_hash_table_insert (e->norm_cache, key, ids);
  return ids;
}

/* One template being inserted into the trie. */
typedef struct
{
  LaresIntentEngine *e;
  int target;
  const char *file;
  int line;
  GString *run;    /* scratch: a run of literal words */
  gboolean failed; /* add_path set the error (it names file and line) */
} PathAdder;

/* Insert one expanded sequence into the trie (a LaresTemplateSeqFunc). */
static gboolean
add_path (const LaresTemplateItem *seq, size_t len, void *data, GError **error)
{
  PathAdder *pa = data;
  LaresIntentEngine *e = pa->e;
  const char *file = pa->file;
  int line = pa->line, target = pa->target;
  Node *node = e->root;
  GString *run = pa->run;
  size_t n_tokens = 0;

  g_string_truncate (run, 0);
  for (size_t i = 0; i <= len; i++)
    {
      const LaresTemplateItem *it = i < len ? &seq[i] : NULL;
      if (it != NULL && it->word != NULL)
        {
          if (run->len > 0)
            g_string_append_c (run, ' ');
          g_string_append (run, it->word);
          continue;
        }
      if (run->len > 0)
        {
          const RunIds *ids = run_ids (e, run);
          for (uint32_t t = 0; t < ids->n; t++)
            {
              uint32_t id = ids->ids[t], lo = 0, hi = node->n_lit;
              Node *child;
              while (lo < hi)
                {
                  uint32_t mid = lo + (hi - lo) / 2;
                  if (node->lit[mid].word < id)
                    lo = mid + 1;
                  else
                    hi = mid;
                }
              if (lo < node->n_lit && node->lit[lo].word == id)
                child = node->lit[lo].child;
              else
                {
                  child = node_new (e);
                  GROW (&e->pool, node->lit, node->n_lit);
                  memmove (&node->lit[lo + 1], &node->lit[lo],
                           (node->n_lit - lo) * sizeof (LitEdge));
                  node->lit[lo] = (LitEdge){ id, child };
                  node->n_lit++;
                  e->loading.lits++;
                }
              node = child;
              n_tokens++;
            }
          g_string_truncate (run, 0);
        }
      if (it != NULL)
        {
          int slot = GPOINTER_TO_INT (g_hash_table_lookup (e->slot_index, it->slot)) - 1;
          Node *child = NULL;
          if (slot < 0)
            {
              pa->failed = TRUE;
              return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, line,
                                         "unknown slot {%s}", it->slot);
            }
          for (uint32_t s = 0; s < node->n_slot; s++)
            if (node->slots[s].slot == slot)
              child = node->slots[s].child;
          if (child == NULL)
            {
              SlotEdge edge = { slot, node_new (e) };
              GROW (&e->pool, node->slots, node->n_slot);
              node->slots[node->n_slot++] = edge;
              e->loading.slots++;
              child = edge.child;
            }
          node = child;
          n_tokens++;
        }
    }
  if (n_tokens == 0)
    {
      pa->failed = TRUE;
      return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, line,
                                 "a template is empty after normalization");
    }
  for (uint32_t t = 0; t < node->n_term; t++)
    if (node->terms[t] == target)
      return TRUE;
  GROW (&e->pool, node->terms, node->n_term);
  node->terms[node->n_term++] = target;
  e->loading.terms++;
  e->n_paths++;
  return TRUE;
}

static gboolean
load_group (LaresIntentEngine *e, int intent, const char *file, const LaresYamlNode *g,
            GError **error)
{
  const LaresYamlNode *sentences = NULL, *args = NULL;
  g_autoptr (JsonNode) args_json = NULL;

  if (!want (file, g, LARES_YAML_MAP, "a data entry", error))
    return FALSE;
  for (size_t i = 0; i + 1 < g->kids->len; i += 2)
    {
      const LaresYamlNode *k = g->kids->pdata[i], *v = g->kids->pdata[i + 1];
      const char *key = k->kind == LARES_YAML_SCALAR ? k->scalar : "";
      if (strcmp (key, "sentences") == 0)
        sentences = v;
      else if (strcmp (key, "args") == 0)
        args = v;
      else
        return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                   "unknown key '%s' in a data entry", key);
    }
  if (sentences == NULL || !want (file, sentences, LARES_YAML_SEQ, "sentences", error))
    return sentences == NULL ? lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, g->line,
                                                   "a data entry needs sentences")
                             : FALSE;
  if (args != NULL && !want (file, args, LARES_YAML_MAP, "args", error))
    return FALSE;
  if (args != NULL)
    args_json = yaml_to_json (args);
  else
    {
      /* take_object adopts the new object's only reference (init_object
       * would add a second one and leak the object). */
      args_json = json_node_new (JSON_NODE_OBJECT);
      json_node_take_object (args_json, json_object_new ());
    }
  if (args != NULL)
    {
      JsonObject *o = json_node_get_object (args_json);
      for (size_t i = 0; i + 1 < args->kids->len; i += 2)
        {
          const LaresYamlNode *k = args->kids->pdata[i];
          JsonNode *v = json_object_get_member (o, k->scalar);
          g_autofree char *field = NULL;
          g_autofree char *ref = v != NULL ? arg_ref (v, &field) : NULL;
          if (ref != NULL && !g_hash_table_contains (e->slot_index, ref))
            return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                       "arg '%s' names unknown slot {%s}", k->scalar, ref);
        }
    }

  for (size_t i = 0; i < sentences->kids->len; i++)
    {
      const LaresYamlNode *s = sentences->kids->pdata[i];
      g_autoptr (GError) local = NULL;
      g_autoptr (LaresTemplateNode) tree = NULL;
      g_autoptr (GString) run = NULL;
      PathAdder pa;
      Target *t;

      if (!want (file, s, LARES_YAML_SCALAR, "a sentence", error))
        return FALSE;
      tree = lares_template_parse (s->scalar, strlen (s->scalar), &local);
      if (tree == NULL)
        return lares_intent_throw (error, LARES_INTENT_ERROR_SYNTAX, file, s->line,
                                   "bad template \"%s\": %s", s->scalar, local->message);
      t = g_new0 (Target, 1);
      t->intent = intent;
      t->args = json_object_ref (json_node_get_object (args_json));
      t->where = g_strdup_printf ("%s:%d", file, s->line);
      t->text = g_strdup (s->scalar);
      g_ptr_array_add (e->targets, t);
      run = g_string_new (NULL);
      pa = (PathAdder){ e, (int)e->targets->len - 1, file, s->line, run, FALSE };
      if (!lares_template_expand_each (tree, rule_lookup, e, LARES_INTENT_MAX_EXPANSIONS, add_path,
                                       &pa, &local))
        {
          if (pa.failed)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, s->line,
                                     "bad template \"%s\": %s", s->scalar, local->message);
        }
    }
  return TRUE;
}

static gboolean
load_intents (LaresIntentEngine *e, const char *file, const LaresYamlNode *n, GError **error)
{
  if (!want (file, n, LARES_YAML_MAP, "intents", error))
    return FALSE;
  for (size_t i = 0; i + 1 < n->kids->len; i += 2)
    {
      const LaresYamlNode *k = n->kids->pdata[i], *v = n->kids->pdata[i + 1];
      const LaresYamlNode *data = NULL;
      IntentDef *def;
      int idx;

      if (!want (file, k, LARES_YAML_SCALAR, "intent name", error) ||
          !want (file, v, LARES_YAML_MAP, "an intent", error))
        return FALSE;
      if (g_hash_table_contains (e->intent_index, k->scalar))
        return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                   "intent '%s' defined twice", k->scalar);
      def = g_new0 (IntentDef, 1);
      def->name = g_strdup (k->scalar);
      g_ptr_array_add (e->intents, def);
      g_hash_table_insert (e->intent_index, def->name, GINT_TO_POINTER (e->intents->len));
      idx = (int)e->intents->len - 1;
      for (size_t j = 0; j + 1 < v->kids->len; j += 2)
        {
          const LaresYamlNode *ik = v->kids->pdata[j], *iv = v->kids->pdata[j + 1];
          const char *key = ik->kind == LARES_YAML_SCALAR ? ik->scalar : "";
          if (strcmp (key, "tool") == 0 || strcmp (key, "description") == 0)
            {
              if (!want (file, iv, LARES_YAML_SCALAR, key, error))
                return FALSE;
              g_free (key[0] == 't' ? def->tool : def->description);
              if (key[0] == 't')
                def->tool = g_strdup (iv->scalar);
              else
                def->description = g_strdup (iv->scalar);
            }
          else if (strcmp (key, "data") == 0)
            data = iv;
          else
            return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, ik->line,
                                       "unknown key '%s' in intent '%s'", key, k->scalar);
        }
      if (def->tool == NULL)
        return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                   "intent '%s' has no tool", k->scalar);
      if (data == NULL || !want (file, data, LARES_YAML_SEQ, "data", error))
        return data == NULL ? lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                                  "intent '%s' has no data", k->scalar)
                            : FALSE;
      for (size_t j = 0; j < data->kids->len; j++)
        if (!load_group (e, idx, file, data->kids->pdata[j], error))
          return FALSE;
    }
  return TRUE;
}

static gboolean
load_file_pass (LaresIntentEngine *e, const char *lang, const char *file, const LaresYamlNode *root,
                int pass, GError **error)
{
  if (!want (file, root, LARES_YAML_MAP, "the file", error))
    return FALSE;
  for (size_t i = 0; i + 1 < root->kids->len; i += 2)
    {
      const LaresYamlNode *k = root->kids->pdata[i], *v = root->kids->pdata[i + 1];
      const char *key = k->kind == LARES_YAML_SCALAR ? k->scalar : "";
      gboolean ok = TRUE;

      if (pass == 0)
        {
          if (strcmp (key, "language") == 0)
            {
              if (v->kind != LARES_YAML_SCALAR || strcmp (v->scalar, lang) != 0)
                return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, v->line,
                                           "language must be '%s'", lang);
            }
          else if (strcmp (key, "normalize") == 0 || strcmp (key, "dates") == 0 ||
                   strcmp (key, "messages") == 0)
            ok = lares_intent_lang_load (e->lang, file, key, v, error);
          else if (strcmp (key, "intents") != 0 && strcmp (key, "slots") != 0 &&
                   strcmp (key, "lists") != 0 && strcmp (key, "expansion_rules") != 0)
            return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, file, k->line,
                                       "unknown section '%s'", key);
        }
      else if (pass == 1)
        {
          if (strcmp (key, "lists") == 0)
            ok = load_lists (e, file, v, error);
          else if (strcmp (key, "expansion_rules") == 0)
            ok = load_rules (e, file, v, error);
        }
      else if (pass == 2)
        {
          if (strcmp (key, "slots") == 0)
            ok = load_slots (e, file, v, error);
        }
      else if (strcmp (key, "intents") == 0)
        ok = load_intents (e, file, v, error);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static void
build_capabilities (LaresIntentEngine *e)
{
  g_autoptr (GString) s = g_string_new (lares_intent_lang_message (e->lang, "capabilities"));
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  gboolean first = TRUE;

  for (size_t i = 0; i < e->intents->len; i++)
    {
      IntentDef *d = e->intents->pdata[i];
      if (d->description == NULL || !g_hash_table_add (seen, d->description))
        continue;
      g_string_append (s, first ? " " : "; ");
      g_string_append (s, d->description);
      first = FALSE;
    }
  g_string_append_c (s, '.');
  e->capabilities = g_string_free (g_steal_pointer (&s), FALSE);
}

static void
loaded_file_free (gpointer p)
{
  LoadedFile *f = p;
  g_free (f->name);
  lares_yaml_node_free (f->root);
  g_free (f);
}

static LaresIntentEngine *
engine_build (GPtrArray *files, const char *lang, GError **error)
{
  g_autoptr (LaresIntentEngine) e = engine_new ();

  e->lang->lang = g_strdup (lang);
  for (int pass = 0; pass < 4; pass++)
    {
      for (size_t i = 0; i < files->len; i++)
        {
          LoadedFile *f = files->pdata[i];
          if (!load_file_pass (e, lang, f->name, f->root, pass, error))
            return NULL;
        }
      /* The language tables are complete after pass 0; lists and templates
       * are normalized with the merged lookup from here on. */
      if (pass == 0)
        lares_intent_lang_freeze (e->lang);
    }
  if (e->n_paths == 0)
    {
      g_set_error (error, LARES_INTENT_ERROR, LARES_INTENT_ERROR_INVALID,
                   "no sentence templates for language '%s'", lang);
      return NULL;
    }
  build_capabilities (e);
  g_clear_pointer (&e->norm_cache, g_hash_table_unref);
  engine_freeze (e);
  return g_steal_pointer (&e);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static gboolean
read_dir_files (const char *dir, const char *lang, GPtrArray *files, GError **error)
{
  g_autofree char *path = g_build_filename (dir, lang, NULL);
  g_autoptr (GDir) d = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GError) local = NULL;
  const char *name;

  if (strchr (lang, '/') != NULL || strcmp (lang, "..") == 0 || *lang == '\0')
    return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, NULL, 0, "bad language tag '%s'",
                               lang);
  d = g_dir_open (path, 0, &local);
  if (d == NULL)
    return lares_intent_throw (error, LARES_INTENT_ERROR_IO, path, 0, "cannot read: %s",
                               local->message);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".yaml") && name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (size_t i = 0; i < names->len; i++)
    {
      g_autofree char *file = g_build_filename (path, names->pdata[i], NULL);
      g_autofree char *data = NULL;
      size_t len = 0;
      LaresYamlNode *root;
      LoadedFile *f;

      if (!g_file_get_contents (file, &data, &len, &local))
        return lares_intent_throw (error, LARES_INTENT_ERROR_IO, file, 0, "cannot read: %s",
                                   local->message);
      root = lares_yaml_parse (file, data, len, error);
      if (root == NULL)
        return FALSE;
      f = g_new0 (LoadedFile, 1);
      f->name = g_steal_pointer (&file);
      f->root = root;
      g_ptr_array_add (files, f);
    }
  return TRUE;
}

/* The same, from the templates embedded in the binary
 * (/lares/intents/LANG/NAME.yaml). */
static gboolean
read_resource_files (const char *lang, GPtrArray *files, GError **error)
{
  g_autofree char *path = g_strdup_printf ("/lares/intents/%s/", lang);
  g_auto (GStrv) names = NULL;
  g_autoptr (GError) local = NULL;

  if (strchr (lang, '/') != NULL || strcmp (lang, "..") == 0 || *lang == '\0')
    return lares_intent_throw (error, LARES_INTENT_ERROR_INVALID, NULL, 0, "bad language tag '%s'",
                               lang);
  names = g_resource_enumerate_children (lares_intents_get_resource (), path, 0, &local);
  if (names == NULL)
    return lares_intent_throw (error, LARES_INTENT_ERROR_IO, NULL, 0,
                               "no built-in templates for language '%s'", lang);
  qsort (names, g_strv_length (names), sizeof (char *), compare_names);
  for (char **n = names; *n; n++)
    {
      g_autofree char *file = g_strconcat (path, *n, NULL);
      g_autoptr (GBytes) data = NULL;
      LaresYamlNode *root;
      LoadedFile *f;
      size_t len;
      const char *bytes;

      if (!g_str_has_suffix (*n, ".yaml"))
        continue;
      data = g_resource_lookup_data (lares_intents_get_resource (), file, 0, &local);
      if (data == NULL)
        return lares_intent_throw (error, LARES_INTENT_ERROR_IO, file, 0, "cannot read: %s",
                                   local->message);
      bytes = g_bytes_get_data (data, &len);
      root = lares_yaml_parse (file, bytes, len, error);
      if (root == NULL)
        return FALSE;
      f = g_new0 (LoadedFile, 1);
      f->name = g_steal_pointer (&file);
      f->root = root;
      g_ptr_array_add (files, f);
    }
  return TRUE;
}

LaresIntentEngine *
lares_intent_engine_new_builtin (const char *lang, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (loaded_file_free);

  g_return_val_if_fail (lang != NULL, NULL);
  if (!read_resource_files (lang, files, error))
    return NULL;
  return engine_build (files, lang, error);
}

LaresIntentEngine *
lares_intent_engine_new_from_dir (const char *dir, const char *lang, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (loaded_file_free);

  g_return_val_if_fail (dir != NULL && lang != NULL, NULL);
  if (!read_dir_files (dir, lang, files, error))
    return NULL;
  return engine_build (files, lang, error);
}

LaresIntentEngine *
lares_intent_engine_new_from_data (const char *base_dir, const char *lang, const char *name,
                                   const char *data, size_t len, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (loaded_file_free);
  LaresYamlNode *root;
  LoadedFile *f;

  if (base_dir != NULL && !read_dir_files (base_dir, lang, files, error))
    return NULL;
  root = lares_yaml_parse (name, data, len, error);
  if (root == NULL)
    return NULL;
  f = g_new0 (LoadedFile, 1);
  f->name = g_strdup (name);
  f->root = root;
  g_ptr_array_add (files, f);
  return engine_build (files, lang, error);
}

/* ---- matching ------------------------------------------------------------------------------- */

/* One span's parse.  While matching only the cheap fields are filled;
 * slot_build() makes the JSON value when a path is reported. */
typedef enum
{
  BUILD_NOT_YET,
  BUILD_DONE,
  BUILD_FAILED, /* a recurrence with no occurrence after now */
} BuildState;

typedef struct
{
  gboolean ok;
  int penalty;          /* entity edits */
  char *alts;           /* (owned) "A or B" when an entity is ambiguous */
  int64_t num;          /* duration seconds, number */
  const char *str;      /* entity name (the caller's) or list value (the engine's) */
  LaresIntentWhen when; /* datetime, day */
  char *rule;           /* (owned) recurrence RRULE */
  BuildState built;
  JsonNode *value; /* (owned) once built */
  char *note;      /* (owned) DST note, once built */
} SlotVal;

/* A match parses a few hundred spans and frees them all at its end: they
 * come from chunks, not one allocation each. */
#define VAL_CHUNK 64
typedef struct ValChunk ValChunk;
struct ValChunk
{
  ValChunk *next;
  int used;
  SlotVal v[VAL_CHUNK];
};

typedef struct
{
  int slot, start, end;
} Bind;

typedef struct
{
  int target;
  int score;
  int penalty;
  int nbind;
  Bind binds[MAX_BINDS];
} Cand;

typedef struct
{
  const LaresIntentEngine *e;
  const char *text;                               /* the user's sentence */
  const LaresIntentToken *toks;                   /* borrowed from the normalizer's scratch */
  char *words[LARES_INTENT_MAX_TOKENS];           /* the tokens' text */
  uint32_t ids[LARES_INTENT_MAX_TOKENS];          /* their Word ids (0: unknown) */
  const Word *info[LARES_INTENT_MAX_TOKENS];      /* their flags */
  LaresIntentDateTok dt[LARES_INTENT_MAX_TOKENS]; /* what the date parsers see of them */
  int n;
  /* date_end[i]: the first word at or after i that no date parser reads
   * (lares_intent_is_date_word()), or n: where date-like spans from i stop. */
  int date_end[LARES_INTENT_MAX_TOKENS + 1];
  GDateTime *now;
  const LaresIntentEntities *ents;
  SlotVal ***memo;      /* [slot][start * (n + 1) + end], each allocated when first used */
  ValChunk *vals;       /* (owned) where the memo's SlotVals live, newest chunk first */
  GHashTable *ent_norm; /* kind -> GPtrArray of normalized names (same order) */
  Bind binds[MAX_BINDS];
  int nbind;
  GArray *cands;
  size_t steps;
} Search;

static SlotVal *
slot_val_new (Search *s)
{
  SlotVal *v;
  if (s->vals == NULL || s->vals->used == VAL_CHUNK)
    {
      ValChunk *c = g_new (ValChunk, 1);
      c->next = s->vals;
      c->used = 0;
      s->vals = c;
    }
  v = &s->vals->v[s->vals->used++];
  memset (v, 0, sizeof *v);
  return v;
}

static void
slot_val_clear (SlotVal *v)
{
  if (v->value != NULL)
    json_node_unref (v->value);
  g_free (v->note);
  g_free (v->alts);
  g_free (v->rule);
}

static void
memo_free (Search *s)
{
  while (s->vals != NULL)
    {
      ValChunk *c = s->vals;
      for (int i = 0; i < c->used; i++)
        slot_val_clear (&c->v[i]);
      s->vals = c->next;
      g_free (c);
    }
  for (size_t i = 0; i < s->e->slots->len; i++)
    g_free (s->memo[i]);
  g_free (s->memo);
}

/* The span's words joined by single spaces (how list phrases and entity
 * names are kept). */
static char *
span_join (const Search *s, int start, int end)
{
  GString *out = g_string_sized_new (64);
  for (int i = start; i < end; i++)
    {
      if (i > start)
        g_string_append_c (out, ' ');
      g_string_append (out, s->words[i]);
    }
  return g_string_free (out, FALSE);
}

/* 0 if equal, 1 if one insertion, deletion, substitution or transposition
 * apart, else 2. */
static int
edit_distance_1 (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b), i = 0;
  if (la > lb + 1 || lb > la + 1)
    return 2;
  while (i < la && i < lb && a[i] == b[i])
    i++;
  if (i == la && i == lb)
    return 0;
  if (la == lb)
    {
      if (strcmp (a + i + 1, b + i + 1) == 0)
        return 1;
      if (i + 1 < la && a[i] == b[i + 1] && a[i + 1] == b[i] && strcmp (a + i + 2, b + i + 2) == 0)
        return 1;
      return 2;
    }
  if (la > lb)
    return strcmp (a + i + 1, b + i) == 0 ? 1 : 2;
  return strcmp (a + i, b + i + 1) == 0 ? 1 : 2;
}

/* The caller's names of one kind, normalized once per match. */
typedef struct
{
  GPtrArray *names; /* (owned) normalized, in the caller's order */
  size_t max_len;   /* bytes of the longest */
} EntityNorms;

static void
entity_norms_free (gpointer p)
{
  EntityNorms *n = p;
  g_ptr_array_unref (n->names);
  g_free (n);
}

static const EntityNorms *
entity_norms (Search *s, const char *kind, GPtrArray **names)
{
  EntityNorms *norm;
  *names = s->ents != NULL ? g_hash_table_lookup (s->ents->by_kind, kind) : NULL;
  if (*names == NULL)
    return NULL;
  norm = g_hash_table_lookup (s->ent_norm, kind);
  if (norm == NULL)
    {
      norm = g_new0 (EntityNorms, 1);
      norm->names = g_ptr_array_new_with_free_func (g_free);
      for (size_t i = 0; i < (*names)->len; i++)
        {
          char *nm = normalize_join (s->e, (*names)->pdata[i]);
          norm->max_len = MAX (norm->max_len, strlen (nm));
          g_ptr_array_add (norm->names, nm);
        }
      g_hash_table_insert (s->ent_norm, (char *)kind, norm);
    }
  return norm;
}

static void
parse_entity (Search *s, const SlotDef *def, int start, int end, SlotVal *v)
{
  g_autofree char *span = span_join (s, start, end);
  GPtrArray *names = NULL;
  const EntityNorms *en = entity_norms (s, def->arg, &names);
  GPtrArray *norm = en != NULL ? en->names : NULL;
  int best = 2, n_best = 0, which = -1;
  g_autoptr (GString) alts = NULL;

  if (norm == NULL)
    return;
  for (size_t i = 0; i < norm->len; i++)
    {
      const char *nm = norm->pdata[i];
      int dist = edit_distance_1 (span, nm);
      if (dist == 1 && (strlen (span) < 4 || strlen (nm) < 4))
        dist = 2;
      if (dist < best)
        {
          best = dist;
          n_best = 0;
        }
      if (dist == best && dist < 2)
        {
          if (n_best == 0)
            which = (int)i;
          n_best++;
        }
    }
  if (which < 0)
    return;
  v->ok = TRUE;
  v->penalty = best;
  v->str = names->pdata[which];
  if (n_best > 1)
    {
      int k = 0;
      alts = g_string_new (NULL);
      for (size_t i = 0; i < norm->len; i++)
        {
          int dist = edit_distance_1 (span, norm->pdata[i]);
          if (dist != best)
            continue;
          if (k > 0)
            g_string_append_printf (alts, k == n_best - 1 ? " %s " : ", ",
                                    lares_intent_lang_message (s->e->lang, "or"));
          g_string_append (alts, names->pdata[i]);
          k++;
        }
      v->alts = g_string_free (g_steal_pointer (&alts), FALSE);
    }
}

static const SlotVal *
slot_value (Search *s, int slot, int start, int end)
{
  SlotVal **row = s->memo[slot];
  SlotVal *v;
  const SlotDef *def = s->e->slots->pdata[slot];
  char **w = s->words + start;
  size_t n = (size_t)(end - start);

  if (row == NULL)
    row = s->memo[slot] = g_new0 (SlotVal *, (size_t)(s->n + 1) * (size_t)(s->n + 1));
  v = row[start * (s->n + 1) + end];
  if (v != NULL)
    return v;
  v = row[start * (s->n + 1) + end] = slot_val_new (s);
  switch (def->type)
    {
    case SLOT_TEXT:
      {
        /* The value is the user's own words (slot_json()).  A span that ends
         * in a date connector or a month ("call mom on", "... on february")
         * is a date the date slot could not read, not free text. */
        const Word *last = s->info[end - 1];
        int before = n > 1 ? s->info[end - 2]->role : 0;
        v->ok = last->role != LARES_ROLE_AT && last->role != LARES_ROLE_ON &&
                !(last->month && (before == LARES_ROLE_AT || before == LARES_ROLE_ON));
        break;
      }
    case SLOT_DATETIME:
    case SLOT_DAY:
      v->ok = lares_intent_parse_when_toks (s->e->lang, s->dt + start, n, s->now,
                                            def->type == SLOT_DAY, &v->when);
      break;
    case SLOT_DURATION:
      v->ok = lares_intent_parse_duration_toks (s->e->lang, s->dt + start, n, &v->num);
      break;
    case SLOT_RECURRENCE:
      v->rule = lares_intent_parse_rrule_toks (s->e->lang, s->dt + start, n);
      v->ok = v->rule != NULL;
      break;
    case SLOT_NUMBER:
      {
        char *endp = NULL;
        gint64 x = n == 1 ? g_ascii_strtoll (w[0], &endp, 10) : 0;
        if (n == 1 && endp != w[0] && *endp == '\0' && x >= 0 && x < 1000000000)
          {
            v->ok = TRUE;
            v->num = x;
          }
        break;
      }
    case SLOT_ENTITY:
      parse_entity (s, def, start, end, v);
      break;
    case SLOT_LIST:
      {
        GHashTable *list = g_hash_table_lookup (s->e->lists, def->arg);
        g_autofree char *span = span_join (s, start, end);
        const char *out = list != NULL ? g_hash_table_lookup (list, span) : NULL;
        if (out != NULL)
          {
            v->ok = TRUE;
            v->str = out;
          }
        break;
      }
    }
  return v;
}

static void
record (Search *s, const TNode *node)
{
  int lit = s->n, typed = 0, text = 0, penalty = 0;

  for (int b = 0; b < s->nbind; b++)
    {
      const Bind *bd = &s->binds[b];
      const SlotDef *def = s->e->slots->pdata[bd->slot];
      const SlotVal *v = slot_value (s, bd->slot, bd->start, bd->end);
      int len = bd->end - bd->start;
      lit -= len;
      if (def->type == SLOT_TEXT)
        text += len;
      else
        typed += len;
      penalty += v->penalty;
    }
  for (uint32_t t = 0; t < N_TERM (node); t++)
    {
      Cand c = { 0 };
      c.target = s->e->t_terms[node->term + t];
      c.score = 3 * lit + 2 * typed + text - penalty;
      c.penalty = penalty;
      c.nbind = s->nbind;
      memcpy (c.binds, s->binds, sizeof (Bind) * (size_t)s->nbind);
      g_array_append_val (s->cands, c);
    }
}

/* The last end worth trying for a span of @def from @pos: longer spans
 * cannot parse, so trying them would only fail (this changes no result). */
static int
span_limit (Search *s, const SlotDef *def, int pos)
{
  switch (def->type)
    {
    case SLOT_DATETIME:
    case SLOT_DAY:
    case SLOT_RECURRENCE:
      return MIN (s->date_end[pos], pos + LARES_INTENT_MAX_DATE_TOKENS);
    case SLOT_DURATION:
      return s->date_end[pos];
    case SLOT_NUMBER:
      return pos + 1;
    case SLOT_LIST:
      return MIN (s->n, pos + def->max_tokens);
    case SLOT_ENTITY:
      {
        /* A name matches a span at most one edit away, so the span's text is
         * at most one byte longer than the longest name. */
        GPtrArray *names = NULL;
        const EntityNorms *norm = entity_norms (s, def->arg, &names);
        size_t len = 0;
        int end = pos;
        if (norm == NULL)
          return pos;
        while (end < s->n)
          {
            len += strlen (s->words[end]) + (end > pos ? 1 : 0);
            if (len > norm->max_len + 1)
              break;
            end++;
          }
        return end;
      }
    case SLOT_TEXT:
    default:
      return s->n;
    }
}

static void
walk (Search *s, uint32_t at, int pos)
{
  const LaresIntentEngine *e = s->e;
  const TNode *node = &e->t_nodes[at];

  if (++s->steps > MAX_STEPS)
    return;
  if (pos == s->n)
    {
      if (N_TERM (node) > 0)
        record (s, node);
      return;
    }
  if (N_LIT (node) > 0)
    {
      uint32_t child = lit_child (e, node, s->ids[pos]);
      if (child != NO_NODE)
        walk (s, child, pos + 1);
    }
  if (N_SLOT (node) == 0 || s->nbind >= MAX_BINDS)
    return;
  for (uint32_t i = 0; i < N_SLOT (node); i++)
    {
      const TSlot *edge = &e->t_slots[node->slot + i];
      const SlotDef *def = e->slots->pdata[edge->slot];
      int last = span_limit (s, def, pos);
      for (int end = pos + 1; end <= last; end++)
        {
          /* Free text may only end where the rest of a template can go on. */
          if (def->type == SLOT_TEXT)
            {
              const TNode *c = &e->t_nodes[edge->child];
              if (end == s->n ? N_TERM (c) == 0
                              : (N_SLOT (c) == 0 && lit_child (e, c, s->ids[end]) == NO_NODE))
                continue;
            }
          if (!slot_value (s, edge->slot, pos, end)->ok)
            continue;
          s->binds[s->nbind++] = (Bind){ edge->slot, pos, end };
          walk (s, edge->child, end);
          s->nbind--;
        }
    }
}

struct _LaresIntentMatch
{
  LaresIntentVerdict verdict;
  char *intent;
  char *tool;
  JsonNode *args;
  double confidence;
  char *question;
  char *why;
  GPtrArray *notes; /* NULL-terminated */
};

void
lares_intent_match_free (LaresIntentMatch *m)
{
  if (m == NULL)
    return;
  g_free (m->intent);
  g_free (m->tool);
  if (m->args != NULL)
    json_node_unref (m->args);
  g_free (m->question);
  g_free (m->why);
  g_ptr_array_unref (m->notes);
  g_free (m);
}

static const Bind *
find_bind (const Cand *c, int slot)
{
  for (int i = 0; i < c->nbind; i++)
    if (c->binds[i].slot == slot)
      return &c->binds[i];
  return NULL;
}

/* Build the value of a span that parsed; FALSE if it turns out to have none
 * (then no path through it is a match). */
static gboolean
slot_build (Search *s, const Bind *b)
{
  const SlotDef *def = s->e->slots->pdata[b->slot];
  SlotVal *v = (SlotVal *)slot_value (s, b->slot, b->start, b->end);

  if (v->built != BUILD_NOT_YET)
    return v->built == BUILD_DONE;
  switch (def->type)
    {
    case SLOT_TEXT:
      {
        const LaresIntentToken *first = &s->toks[b->start];
        const LaresIntentToken *last = &s->toks[b->end - 1];
        /* Free text is the user's own words, from the first token's first
         * byte to the last token's last byte. */
        g_autofree char *text = g_strndup (s->text + first->start, last->end - first->start);
        v->value = json_node_init_string (json_node_alloc (), text);
        break;
      }
    case SLOT_DATETIME:
    case SLOT_DAY:
      v->value = lares_intent_when_value (s->e->lang, s->now, &v->when, &v->note);
      break;
    case SLOT_RECURRENCE:
      v->value = lares_intent_rrule_value (s->e->lang, v->rule, s->now, &v->note);
      break;
    case SLOT_DURATION:
    case SLOT_NUMBER:
      v->value = json_node_init_int (json_node_alloc (), v->num);
      break;
    case SLOT_ENTITY:
    case SLOT_LIST:
      v->value = json_node_init_string (json_node_alloc (), v->str);
      break;
    }
  v->built = v->value != NULL ? BUILD_DONE : BUILD_FAILED;
  return v->built == BUILD_DONE;
}

/* Build every value of @c's path; FALSE if one has none. */
static gboolean
cand_build (Search *s, const Cand *c)
{
  for (int i = 0; i < c->nbind; i++)
    if (!slot_build (s, &c->binds[i]))
      return FALSE;
  return TRUE;
}

static JsonNode *
slot_json (Search *s, const Bind *b)
{
  return json_node_copy (slot_value (s, b->slot, b->start, b->end)->value);
}

static void
build_args (Search *s, const Cand *c, LaresIntentMatch *m)
{
  const Target *t = s->e->targets->pdata[c->target];
  JsonObject *out = json_object_new ();
  g_autoptr (GList) members = json_object_get_members (t->args);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      JsonNode *v = json_object_get_member (t->args, name);
      g_autofree char *field = NULL;
      g_autofree char *ref = arg_ref (v, &field);
      int slot;
      const Bind *b;
      g_autoptr (JsonNode) val = NULL;

      if (ref == NULL)
        {
          json_object_set_member (out, name, json_node_copy (v));
          continue;
        }
      slot = GPOINTER_TO_INT (g_hash_table_lookup (s->e->slot_index, ref)) - 1;
      b = find_bind (c, slot);
      if (b == NULL)
        continue; /* an optional slot the sentence did not fill */
      val = slot_json (s, b);
      if (field != NULL)
        {
          JsonNode *f = JSON_NODE_HOLDS_OBJECT (val)
                            ? json_object_get_member (json_node_get_object (val), field)
                            : NULL;
          if (f != NULL)
            json_object_set_member (out, name, json_node_copy (f));
        }
      else
        json_object_set_member (out, name, g_steal_pointer (&val));
    }
  m->args = json_node_init_object (json_node_alloc (), out);
  json_object_unref (out);
  for (int i = 0; i < c->nbind; i++)
    {
      const SlotVal *v = slot_value (s, c->binds[i].slot, c->binds[i].start, c->binds[i].end);
      if (v->note != NULL)
        g_ptr_array_insert (m->notes, (int)m->notes->len - 1, g_strdup (v->note));
    }
}

static char *
fill (const char *tmpl, const char *key, const char *value)
{
  g_autoptr (GString) s = g_string_new (tmpl);
  g_string_replace (s, key, value, 0);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static int
cand_cmp (gconstpointer a, gconstpointer b)
{
  const Cand *x = a, *y = b;
  if (x->score != y->score)
    return y->score - x->score;
  return x->target - y->target; /* earlier templates first: stable and data-ordered */
}

LaresIntentMatch *
lares_intent_engine_match (const LaresIntentEngine *engine, const char *text, GDateTime *now,
                           GTimeZone *tz, const LaresIntentEntities *entities)
{
  LaresIntentMatch *m = g_new0 (LaresIntentMatch, 1);
  g_autoptr (GDateTime) local_now = NULL;
  LaresIntentNorm norm;
  Search s = { 0 };
  size_t i_best;
  const Cand *best;
  const Target *t;
  const IntentDef *def;

  m->notes = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (m->notes, NULL);
  g_return_val_if_fail (engine != NULL && text != NULL && now != NULL, m);

  local_now = tz != NULL ? g_date_time_to_timezone (now, tz) : g_date_time_ref (now);
  s.e = engine;
  s.text = text;
  lares_intent_normalize_into (engine->lang, text, strlen (text), &norm);
  if (norm.n_toks == 0)
    {
      m->why = g_strdup ("nothing to match after normalization");
      lares_intent_norm_clear (&norm);
      return m;
    }
  if (norm.n_toks > LARES_INTENT_MAX_TOKENS)
    {
      m->why = g_strdup_printf ("longer than %d words", LARES_INTENT_MAX_TOKENS);
      lares_intent_norm_clear (&norm);
      return m;
    }
  s.toks = norm.toks;
  for (size_t i = 0; i < norm.n_toks; i++)
    s.words[i] = norm.toks[i].text;
  s.n = (int)norm.n_toks;
  for (int i = 0; i < s.n; i++)
    {
      /* A word no template or date table has: only its digits can matter. */
      static const Word unknown = { .dt = { .number = -1, .clock_h = -1, .clock_m = -1 } };
      static const Word unknown_digits = { .date_word = TRUE };
      s.ids[i] = GPOINTER_TO_UINT (g_hash_table_lookup (engine->vocab, s.words[i]));
      s.info[i] = s.ids[i] > 0 ? &g_array_index (engine->words, Word, s.ids[i] - 1)
                  : g_ascii_isdigit (s.words[i][0]) ? &unknown_digits
                                                    : &unknown;
      if (s.info[i] == &unknown_digits)
        lares_intent_date_tok_init (engine->lang, s.words[i], &s.dt[i]);
      else
        s.dt[i] = s.info[i]->dt;
    }
  s.date_end[s.n] = s.n;
  for (int i = s.n - 1; i >= 0; i--)
    s.date_end[i] = s.info[i]->date_word ? s.date_end[i + 1] : i;
  s.now = local_now;
  s.ents = entities;
  s.memo = g_new0 (SlotVal **, engine->slots->len);
  s.ent_norm = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, entity_norms_free);
  s.cands = g_array_new (FALSE, FALSE, sizeof (Cand));

  walk (&s, 0, 0);

  /* Values are built only now, for the best path whose values all exist
   * (and below for a runner-up that could make it ambiguous). */
  g_array_sort (s.cands, cand_cmp);
  for (i_best = 0; i_best < s.cands->len; i_best++)
    if (cand_build (&s, &g_array_index (s.cands, Cand, i_best)))
      break;
  if (i_best == s.cands->len)
    {
      m->why = g_strdup (s.steps > MAX_STEPS ? "search limit reached without a match"
                                             : "no template matches");
      goto out;
    }
  best = &g_array_index (s.cands, Cand, i_best);
  t = engine->targets->pdata[best->target];
  def = engine->intents->pdata[t->intent];
  m->intent = g_strdup (def->name);
  m->tool = g_strdup (def->tool);
  build_args (&s, best, m);
  m->verdict = LARES_INTENT_VERDICT_MATCH;
  m->confidence = MAX (0.5, 1.0 - 0.2 * best->penalty);
  m->why = g_strdup_printf ("template %s \"%s\" (score %d)", t->where, t->text, best->score);

  /* Another intent just as good: ask which one was meant. */
  for (size_t i = i_best + 1; i < s.cands->len; i++)
    {
      const Cand *c = &g_array_index (s.cands, Cand, i);
      const Target *t2 = engine->targets->pdata[c->target];
      const IntentDef *d2 = engine->intents->pdata[t2->intent];
      g_autofree char *options = NULL;
      if (c->score < best->score)
        break;
      if (t2->intent == t->intent || !cand_build (&s, c))
        continue;
      options = g_strdup_printf ("%s %s %s", def->description ? def->description : def->name,
                                 lares_intent_lang_message (engine->lang, "or"),
                                 d2->description ? d2->description : d2->name);
      m->verdict = LARES_INTENT_VERDICT_AMBIGUOUS;
      m->confidence = 0.5;
      m->question =
          fill (lares_intent_lang_message (engine->lang, "clarify_intent"), "{options}", options);
      g_free (m->why);
      m->why = g_strdup_printf ("intents '%s' and '%s' tie at score %d (%s, %s)", def->name,
                                d2->name, best->score, t->where, t2->where);
      goto out;
    }
  /* An entity equally close to several names. */
  for (int i = 0; i < best->nbind; i++)
    {
      const SlotVal *v =
          slot_value (&s, best->binds[i].slot, best->binds[i].start, best->binds[i].end);
      const SlotDef *sd = engine->slots->pdata[best->binds[i].slot];
      g_autofree char *q = NULL;
      if (v->alts == NULL)
        continue;
      q = fill (lares_intent_lang_message (engine->lang, "clarify_entity"), "{kind}", sd->arg);
      m->question = fill (q, "{options}", v->alts);
      m->verdict = LARES_INTENT_VERDICT_AMBIGUOUS;
      m->confidence = 0.5;
      g_free (m->why);
      m->why = g_strdup_printf ("the %s could be %s", sd->arg, v->alts);
      break;
    }

out:
  memo_free (&s);
  g_hash_table_unref (s.ent_norm);
  g_array_unref (s.cands);
  lares_intent_norm_clear (&norm);
  return m;
}

LaresIntentVerdict
lares_intent_match_get_verdict (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, LARES_INTENT_VERDICT_NONE);
  return m->verdict;
}

const char *
lares_intent_match_get_intent (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->intent;
}

const char *
lares_intent_match_get_tool (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->tool;
}

JsonNode *
lares_intent_match_get_args (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->args;
}

double
lares_intent_match_get_confidence (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, 0);
  return m->confidence;
}

const char *
lares_intent_match_get_question (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->question;
}

const char *
lares_intent_match_get_why (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return m->why != NULL ? m->why : "";
}

const char *const *
lares_intent_match_get_notes (const LaresIntentMatch *m)
{
  g_return_val_if_fail (m != NULL, NULL);
  return (const char *const *)m->notes->pdata;
}

const char *
lares_intent_verdict_to_string (LaresIntentVerdict verdict)
{
  switch (verdict)
    {
    case LARES_INTENT_VERDICT_MATCH:
      return "match";
    case LARES_INTENT_VERDICT_AMBIGUOUS:
      return "ambiguous";
    case LARES_INTENT_VERDICT_NONE:
    default:
      return "none";
    }
}

const char *
lares_intent_route_to_string (LaresIntentRoute route)
{
  switch (route)
    {
    case LARES_INTENT_ROUTE_RUN:
      return "run";
    case LARES_INTENT_ROUTE_CLARIFY:
      return "clarify";
    case LARES_INTENT_ROUTE_LLM:
      return "llm";
    case LARES_INTENT_ROUTE_CAPABILITIES:
    default:
      return "capabilities";
    }
}

LaresIntentRoute
lares_intent_route (const LaresIntentMatch *m, gboolean llm_configured, const char **why)
{
  LaresIntentRoute r;
  const char *reason;

  g_return_val_if_fail (m != NULL, LARES_INTENT_ROUTE_CAPABILITIES);
  switch (m->verdict)
    {
    case LARES_INTENT_VERDICT_MATCH:
      r = LARES_INTENT_ROUTE_RUN;
      reason = "a confident intent match";
      break;
    case LARES_INTENT_VERDICT_AMBIGUOUS:
      r = LARES_INTENT_ROUTE_CLARIFY;
      reason = "the intent match is ambiguous";
      break;
    case LARES_INTENT_VERDICT_NONE:
    default:
      r = llm_configured ? LARES_INTENT_ROUTE_LLM : LARES_INTENT_ROUTE_CAPABILITIES;
      reason = llm_configured ? "no intent matched; the LLM is configured"
                              : "no intent matched and no LLM is configured";
      break;
    }
  if (why != NULL)
    *why = reason;
  return r;
}

JsonNode *
lares_intent_match_to_json (const LaresIntentMatch *m)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();

  g_return_val_if_fail (m != NULL, NULL);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "verdict");
  json_builder_add_string_value (b, lares_intent_verdict_to_string (m->verdict));
  json_builder_set_member_name (b, "intent");
  if (m->intent != NULL)
    json_builder_add_string_value (b, m->intent);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "tool");
  if (m->tool != NULL)
    json_builder_add_string_value (b, m->tool);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "args");
  if (m->args != NULL)
    json_builder_add_value (b, json_node_copy (m->args));
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "confidence");
  json_builder_add_double_value (b, m->confidence);
  if (m->question != NULL)
    {
      json_builder_set_member_name (b, "question");
      json_builder_add_string_value (b, m->question);
    }
  json_builder_set_member_name (b, "why");
  json_builder_add_string_value (b, lares_intent_match_get_why (m));
  json_builder_set_member_name (b, "notes");
  json_builder_begin_array (b);
  for (size_t i = 0; i + 1 < m->notes->len; i++)
    json_builder_add_string_value (b, m->notes->pdata[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

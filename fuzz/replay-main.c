/* replay-main.c — main() for fuzz targets built without libFuzzer.
 *
 * Usage: fuzz-TARGET PATH...  Each PATH is a file or a directory (walked
 * recursively, in name order); every file is passed once to
 * LLVMFuzzerTestOneInput() in a buffer of exactly its size, so an overread
 * shows up under ASan or valgrind.  Exits 1 if no input was found, since a
 * wrong corpus path must not pass silently.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "lares-fuzz.h"

static gboolean
replay_file (const char *path, unsigned *count)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree uint8_t *copy = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &contents, &len, &error))
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return FALSE;
    }
  /* g_malloc (0) is NULL, and the target may not expect that. */
  copy = g_malloc (len > 0 ? len : 1);
  memcpy (copy, contents, len);
  g_clear_pointer (&contents, g_free);
  fprintf (stderr, "replay: %s (%" G_GSIZE_FORMAT " bytes)\n", path, len);
  LLVMFuzzerTestOneInput (copy, len);
  (*count)++;
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

static gboolean
replay_path (const char *path, unsigned *count)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GPtrArray) names = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return replay_file (path, count);

  dir = g_dir_open (path, 0, &error);
  if (dir == NULL)
    {
      fprintf (stderr, "replay: %s\n", error->message);
      return FALSE;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    if (!replay_path (names->pdata[i], count))
      return FALSE;
  return TRUE;
}

int
main (int argc, char **argv)
{
  unsigned count = 0;

  if (argc < 2)
    {
      fprintf (stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
      return 2;
    }
  for (int i = 1; i < argc; i++)
    if (!replay_path (argv[i], &count))
      return 1;
  if (count == 0)
    {
      fprintf (stderr, "replay: no inputs under the given paths\n");
      return 1;
    }
  fprintf (stderr, "replay: %u inputs, no crash\n", count);
  return 0;
}

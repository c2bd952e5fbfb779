/* cmd-version.c — `lares version`. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <sqlite3.h>
#include <stdio.h>

#include "lares-cli.h"
#include "lares-store.h"

int
lares_cmd_version (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- print version information");
  int rc;

  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  printf ("lares %s\n", LARES_VERSION);
  printf ("schema %d, sqlite %s, glib %u.%u.%u, libsoup %u.%u.%u, json-glib %s\n",
          lares_store_schema_head (), sqlite3_libversion (), glib_major_version, glib_minor_version,
          glib_micro_version, soup_get_major_version (), soup_get_minor_version (),
          soup_get_micro_version (), JSON_VERSION_S);
  return LARES_EXIT_OK;
}

/* cmd-config.c — `lares config`: the documented example configuration,
 * generated from the same table the daemon parses with. */
#include "config.h"

#include <stdio.h>

#include "lares-cli.h"
#include "lares-config.h"

int
lares_cmd_config (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx =
      g_option_context_new ("- print every configuration key with its default");
  g_autofree char *text = NULL;
  int rc;

  if ((rc = lares_cli_parse (ctx, &argc, &argv)) >= 0)
    return rc;
  text = lares_config_example ();
  fputs (text, stdout);
  return LARES_EXIT_OK;
}

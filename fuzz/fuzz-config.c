/* fuzz-config.c — lares.conf text through lares_config_load_data(), then
 * lares_config_dump().
 *
 * Checks: a failed load leaves an error in LARES_CONFIG_ERROR; the dump
 * never prints a set secret, only "api_key=<redacted>".
 *
 * Not checked (yet): that error messages are UTF-8 — an unknown key is
 * echoed byte for byte, see corpus/config/invalid-utf8-group.conf.
 */
#include "config.h"

#include <string.h>

#include "lares-config.h"
#include "lares-fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (LaresConfig) cfg = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dump = NULL;
  gboolean ok;

  lares_fuzz_init ();

  cfg = lares_config_new ();
  ok = lares_config_load_data (cfg, (const char *)data, size, &error);
  if (ok)
    g_assert_no_error (error);
  else
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == LARES_CONFIG_ERROR);
      g_assert_true (error->message != NULL && error->message[0] != '\0');
    }

  dump = lares_config_dump (cfg);
  g_assert_nonnull (dump);
  if (cfg->llm_api_key[0] != '\0')
    g_assert_nonnull (strstr (dump, "\napi_key=<redacted>  #"));
  else
    g_assert_nonnull (strstr (dump, "\napi_key=  #"));
  return 0;
}

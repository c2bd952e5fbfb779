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
  g_autoptr (LaresConfig) again = NULL;
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
  g_assert_true (g_utf8_validate (dump, -1, NULL));
  if (cfg->llm_api_key[0] != '\0')
    g_assert_nonnull (strstr (dump, "\napi_key=<redacted>\n"));
  else
    g_assert_nonnull (strstr (dump, "\napi_key=\n"));

  /* Whatever was accepted prints as a lares.conf that loads back to the
   * same effective values (secrets aside, which print redacted). */
  again = lares_config_new ();
  g_assert_true (lares_config_load_data (again, dump, strlen (dump), NULL));
  g_assert_cmpint (again->port, ==, cfg->port);
  g_assert_cmpstr (again->listen, ==, cfg->listen);
  g_assert_cmpstr (again->data_dir, ==, cfg->data_dir);
  g_assert_cmpstr (again->llm_model, ==, cfg->llm_model);
  g_assert_cmpstr (again->llm_base_url, ==, cfg->llm_base_url);
  g_assert_cmpuint (again->max_body, ==, cfg->max_body);
  g_assert_cmpuint (again->shutdown_timeout_ms, ==, cfg->shutdown_timeout_ms);
  return 0;
}

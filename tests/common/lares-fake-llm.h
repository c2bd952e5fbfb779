/* lares-fake-llm.h — run tests/fake-llm (a scriptable LLM server) from a
 * test: start it on a free loopback port with a script, point lares at its
 * URL, then read back what lares sent it.
 *
 * The binary comes from $LARES_FAKE_LLM (set by meson).  Each fake gets a
 * temporary directory holding its script, its record file and its stderr;
 * lares_fake_llm_free removes it.  Every wait is bounded: a fake that does
 * not start, or a record that does not appear, fails the test.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef struct _LaresFakeLlm LaresFakeLlm;

/* Start the fake with @script_text (the format of tests/fake-llm/README.md;
 * NULL runs it without a script, in its --tokens mode) and @extra_args
 * (NULL-terminated, nullable), e.g. { "--cycle", NULL }.  Asserts that it
 * started.  (transfer full) */
LaresFakeLlm *lares_fake_llm_start (const char *script_text, const char *const *extra_args);

/* The same with the script read from tests/fake-llm/scripts/@name. */
LaresFakeLlm *lares_fake_llm_start_named (const char *name, const char *const *extra_args);

/* "http://127.0.0.1:PORT/v1": the OpenAI-style base URL.  (transfer none) */
const char *lares_fake_llm_url (LaresFakeLlm *fake);
/* "http://127.0.0.1:PORT": the base for Ollama's /api/chat.  (transfer none) */
const char *lares_fake_llm_base (LaresFakeLlm *fake);
uint16_t lares_fake_llm_port (LaresFakeLlm *fake);

/* The chat requests recorded so far, oldest first: one JSON object each,
 * {"path","authorization","body","bytes","t_recv_us","t_first_us"}.
 * A complete response is recorded before its last byte is sent, so a
 * client that has read one finds it here.  (transfer full; JsonNode *) */
GPtrArray *lares_fake_llm_requests (LaresFakeLlm *fake);
unsigned lares_fake_llm_n_requests (LaresFakeLlm *fake);
/* Iterate the default main context until @n requests are recorded (for
 * responses that end without the client reading them: hang, a client that
 * gave up), at most @ms.  Asserts on timeout. */
void lares_fake_llm_wait_requests (LaresFakeLlm *fake, unsigned n, unsigned ms);

/* Stop the fake (SIGTERM), assert it exited 0, remove its directory. */
void lares_fake_llm_free (LaresFakeLlm *fake);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LaresFakeLlm, lares_fake_llm_free)

G_END_DECLS

/* lares-auth.c — libsodium-backed secrets and the small auth helpers.
 *
 * DESIGN: everything here is either pure (parsers, digests) or guarded by
 * its caller's thread (the rate limiter and allowlist live on the main
 * loop).  Password hashing runs through GTask on GLib's worker pool.
 */
#include "config.h"

#include "lares-auth.h"

#include <sodium.h>

G_DEFINE_QUARK (lares - auth - error - quark, lares_auth_error)

/* PROTOCOLS.md §6: m=19456 KiB, t=2, p=1 (libsodium's Argon2id is p=1). */
#define ARGON2_OPSLIMIT 2
#define ARGON2_MEMLIMIT ((size_t)19456 * 1024)

gboolean
lares_auth_init (GError **error)
{
  if (sodium_init () < 0)
    {
      g_set_error (error, LARES_AUTH_ERROR, LARES_AUTH_ERROR_FAILED,
                   "libsodium could not initialize");
      return FALSE;
    }
  return TRUE;
}

const char *
lares_password_check_policy (const char *password)
{
  size_t len = strlen (password);

  if (!g_utf8_validate (password, -1, NULL))
    return "the password is not valid UTF-8";
  if (g_utf8_strlen (password, -1) < LARES_PASSWORD_MIN)
    return "the password needs at least 8 characters";
  if (len > LARES_PASSWORD_MAX)
    return "the password is longer than 1024 bytes";
  return NULL;
}

char *
lares_password_hash (const char *password, GError **error)
{
  char out[crypto_pwhash_STRBYTES];

  if (crypto_pwhash_str_alg (out, password, strlen (password), ARGON2_OPSLIMIT, ARGON2_MEMLIMIT,
                             crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      g_set_error (error, LARES_AUTH_ERROR, LARES_AUTH_ERROR_FAILED,
                   "out of memory while hashing a password");
      return NULL;
    }
  return g_strdup (out);
}

gboolean
lares_password_verify (const char *hash, const char *password)
{
  if (hash == NULL || strlen (password) > LARES_PASSWORD_MAX)
    return FALSE;
  return crypto_pwhash_str_verify (hash, password, strlen (password)) == 0;
}

char *
lares_password_generate (void)
{
  /* No 0/O, 1/l/I: it is printed once and typed by a person. */
  static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  char *pw = g_malloc (21);

  for (int i = 0; i < 20; i++)
    pw[i] = alphabet[randombytes_uniform (sizeof alphabet - 1)];
  pw[20] = '\0';
  return pw;
}

typedef struct
{
  char *hash;
  char *password;
} PwJob;

static void
pw_job_free (gpointer p)
{
  PwJob *job = p;

  if (job->password)
    sodium_memzero (job->password, strlen (job->password));
  g_free (job->password);
  g_free (job->hash);
  g_free (job);
}

static void
hash_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PwJob *job = data;
  GError *error = NULL;
  char *hash = lares_password_hash (job->password, &error);

  if (hash)
    g_task_return_pointer (task, hash, g_free);
  else
    g_task_return_error (task, error);
}

void
lares_password_hash_async (const char *password, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  PwJob *job = g_new0 (PwJob, 1);

  job->password = g_strdup (password);
  g_task_set_task_data (task, job, pw_job_free);
  g_task_run_in_thread (task, hash_thread);
}

char *
lares_password_hash_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A fixed hash to verify against when the user does not exist, so the
 * answer takes as long either way. */
static const char *
dummy_hash (void)
{
  static char *hash;
  static GMutex lock;

  g_mutex_lock (&lock);
  if (hash == NULL)
    hash = lares_password_hash ("lares-timing-equalizer", NULL);
  g_mutex_unlock (&lock);
  return hash;
}

static void
verify_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  PwJob *job = data;
  gboolean ok;

  if (job->hash == NULL)
    {
      (void)lares_password_verify (dummy_hash (), job->password);
      ok = FALSE;
    }
  else
    ok = lares_password_verify (job->hash, job->password);
  g_task_return_boolean (task, ok);
}

void
lares_password_verify_async (const char *hash, const char *password, GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autoptr (GTask) task = g_task_new (NULL, NULL, callback, user_data);
  PwJob *job = g_new0 (PwJob, 1);

  job->hash = g_strdup (hash);
  job->password = g_strdup (password);
  g_task_set_task_data (task, job, pw_job_free);
  g_task_run_in_thread (task, verify_thread);
}

gboolean
lares_password_verify_finish (GAsyncResult *result)
{
  return g_task_propagate_boolean (G_TASK (result), NULL);
}

void
lares_secret_digest (const char *text, size_t len, uint8_t digest[LARES_DIGEST_LEN])
{
  G_STATIC_ASSERT (LARES_DIGEST_LEN == crypto_hash_sha256_BYTES);
  crypto_hash_sha256 (digest, (const unsigned char *)text, len);
}

void
lares_secret_new (gboolean token, char text[LARES_SECRET_TEXT], uint8_t digest[LARES_DIGEST_LEN])
{
  uint8_t raw[32];
  size_t off = 0;

  randombytes_buf (raw, sizeof raw);
  if (token)
    {
      memcpy (text, "lrs_", 4);
      off = 4;
    }
  sodium_bin2base64 (text + off, LARES_SECRET_TEXT - off, raw, sizeof raw,
                     sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero (raw, sizeof raw);
  lares_secret_digest (text, strlen (text), digest);
}

const char *
lares_auth_parse_bearer (const char *header, size_t *len)
{
  const char *p, *start;

  if (header == NULL || g_ascii_strncasecmp (header, "Bearer ", 7) != 0)
    return NULL;
  p = header + 7;
  while (*p == ' ')
    p++;
  start = p;
  while (*p > ' ' && *p < 0x7f)
    p++;
  *len = (size_t)(p - start);
  while (*p == ' ')
    p++;
  if (*p != '\0' || *len == 0 || *len > 256)
    return NULL;
  return start;
}

char *
lares_auth_cookie_value (const char *header, const char *name)
{
  size_t name_len = strlen (name);
  const char *p = header;

  if (header == NULL)
    return NULL;
  while (*p)
    {
      const char *end;

      while (*p == ' ' || *p == ';')
        p++;
      end = strchr (p, ';');
      if (end == NULL)
        end = p + strlen (p);
      if ((size_t)(end - p) > name_len && strncmp (p, name, name_len) == 0 && p[name_len] == '=')
        {
          const char *v = p + name_len + 1;
          const char *vend = end;
          while (vend > v && vend[-1] == ' ')
            vend--;
          if (vend - v > 0 && vend - v <= 256)
            return g_strndup (v, (size_t)(vend - v));
          return NULL;
        }
      p = end;
    }
  return NULL;
}

/* ---- rate limiting ------------------------------------------------------ */

typedef struct
{
  unsigned failures;
  int64_t window_start;
  int64_t locked_until;
} Bucket;

struct _LaresRateLimit
{
  GHashTable *buckets; /* key -> Bucket */
  unsigned max_failures;
  int64_t window_ms, lockout_ms;
};

LaresRateLimit *
lares_rate_limit_new (unsigned max_failures, int64_t window_ms, int64_t lockout_ms)
{
  LaresRateLimit *rl = g_new0 (LaresRateLimit, 1);

  rl->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  rl->max_failures = max_failures;
  rl->window_ms = window_ms;
  rl->lockout_ms = lockout_ms;
  return rl;
}

void
lares_rate_limit_free (LaresRateLimit *rl)
{
  if (rl == NULL)
    return;
  g_hash_table_destroy (rl->buckets);
  g_free (rl);
}

int64_t
lares_rate_limit_check (LaresRateLimit *rl, const char *key, int64_t now_ms)
{
  Bucket *b = g_hash_table_lookup (rl->buckets, key);

  if (b == NULL || b->locked_until <= now_ms)
    return 0;
  return b->locked_until - now_ms;
}

gboolean
lares_rate_limit_fail (LaresRateLimit *rl, const char *key, int64_t now_ms)
{
  Bucket *b = g_hash_table_lookup (rl->buckets, key);

  if (b == NULL)
    {
      /* Bound memory under a spray of distinct keys: forget idle buckets. */
      if (g_hash_table_size (rl->buckets) > 10000)
        g_hash_table_remove_all (rl->buckets);
      b = g_new0 (Bucket, 1);
      g_hash_table_insert (rl->buckets, g_strdup (key), b);
    }
  if (now_ms - b->window_start > rl->window_ms)
    {
      b->window_start = now_ms;
      b->failures = 0;
    }
  if (++b->failures >= rl->max_failures && b->locked_until <= now_ms)
    {
      b->locked_until = now_ms + rl->lockout_ms;
      b->failures = 0;
      b->window_start = now_ms;
      return TRUE;
    }
  return FALSE;
}

void
lares_rate_limit_reset (LaresRateLimit *rl, const char *key)
{
  g_hash_table_remove (rl->buckets, key);
}

/* ---- allowlist ------------------------------------------------------------ */

struct _LaresAllowList
{
  GPtrArray *masks; /* GInetAddressMask */
};

LaresAllowList *
lares_allow_list_parse (const char *text, GError **error)
{
  g_autoptr (LaresAllowList) list = g_new0 (LaresAllowList, 1);
  g_auto (GStrv) parts = g_strsplit (text ? text : "", ",", -1);

  list->masks = g_ptr_array_new_with_free_func (g_object_unref);
  for (size_t i = 0; parts[i]; i++)
    {
      char *item = g_strstrip (parts[i]);
      g_autoptr (GError) local = NULL;
      GInetAddressMask *mask;

      if (*item == '\0')
        continue;
      mask = g_inet_address_mask_new_from_string (item, &local);
      if (mask == NULL)
        {
          g_set_error (error, LARES_AUTH_ERROR, LARES_AUTH_ERROR_FAILED,
                       "'%s' is not an address or CIDR range (e.g. 192.168.1.0/24)", item);
          return NULL;
        }
      g_ptr_array_add (list->masks, mask);
    }
  return g_steal_pointer (&list);
}

void
lares_allow_list_free (LaresAllowList *list)
{
  if (list == NULL)
    return;
  if (list->masks)
    g_ptr_array_unref (list->masks);
  g_free (list);
}

gboolean
lares_allow_list_is_empty (LaresAllowList *list)
{
  return list->masks->len == 0;
}

gboolean
lares_allow_list_allows (LaresAllowList *list, GInetAddress *addr)
{
  if (g_inet_address_get_is_loopback (addr))
    return TRUE;
  for (unsigned i = 0; i < list->masks->len; i++)
    if (g_inet_address_mask_matches (list->masks->pdata[i], addr))
      return TRUE;
  return FALSE;
}

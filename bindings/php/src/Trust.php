<?php
/*
 * The trust layer for PHP: one file over the C ABI (libtrust.so) through PHP's FFI extension.
 *
 *   require 'bindings/php/src/Trust.php';   // or Composer's autoloader (composer.json "files")
 *   \Trust\Webhook::verify('shopify', $rawBody, getallheaders(), [$secret]);
 *
 * The library is found through TRUST_LIB (a path), else bindings/php/lib/libtrust.so when a
 * build was copied there, else the system loader's libtrust.so.X.Y.Z (installed by
 * crates/trust-ffi/install.sh). Loading checks trust_abi_version() against the version this file
 * was written for and refuses a mismatch. PHP's FFI must be enabled: it is for the CLI by default
 * (ffi.enable=preload); under PHP-FPM set ffi.enable=true or preload this file. docs/php.md has
 * the guide.
 */

declare(strict_types=1);

namespace Trust;

/** Any failure reported by the library: `trustCode` is the stable code (the CLI's `--json` one). */
class TrustException extends \RuntimeException
{
    /** Stable upper-case code, e.g. `SECRET_NOT_READER`, `EMPTY_PATH`. */
    public string $trustCode;
    /** The C status (`TRUST_*`, e.g. 500); its hundreds are the CLI exit code's family. */
    public int $status;
    /** A hint for the operator, when the library has one. */
    public ?string $hint;

    public function __construct(string $message, string $trustCode, int $status, ?string $hint = null)
    {
        parent::__construct($message, $status);
        $this->trustCode = $trustCode;
        $this->status = $status;
        $this->hint = $hint;
    }
}

/** A failed verification: bad signature, MAC, tag, stale timestamp, tampered data, wrong code. */
class VerificationException extends TrustException
{
}

/** @internal The loaded library and the conversions every class shares. */
final class Lib
{
    /** The C ABI version this file was written against (TRUST_ABI_VERSION). */
    public const ABI_VERSION = 1;
    /** The library version it was written with (the SONAME's). */
    public const VERSION = '0.1.0';

    private static ?\FFI $ffi = null;

    public static function ffi(): \FFI
    {
        return self::$ffi ??= self::load();
    }

    private static function load(): \FFI
    {
        if (!extension_loaded('ffi')) {
            throw new TrustException('the PHP FFI extension is not loaded (install php-cli; see docs/php.md)', 'FFI_UNAVAILABLE', 200);
        }
        $path = getenv('TRUST_LIB');
        if ($path === false || $path === '') {
            $bundled = dirname(__DIR__) . '/lib/libtrust.so';
            $path = is_file($bundled) ? $bundled : 'libtrust.so.' . self::VERSION;
        }
        $header = file_get_contents(__DIR__ . '/trust_ffi.h');
        if ($header === false) {
            throw new TrustException('cannot read ' . __DIR__ . '/trust_ffi.h', 'INPUT_UNREADABLE', 300);
        }
        try {
            $ffi = \FFI::cdef($header, $path);
        } catch (\FFI\Exception $e) {
            throw new TrustException("cannot load the trust library from $path: " . $e->getMessage() . ' (set TRUST_LIB)', 'LIBRARY_UNAVAILABLE', 300);
        }
        $abi = $ffi->trust_abi_version();
        if ($abi !== self::ABI_VERSION) {
            throw new TrustException(
                "$path has C ABI version $abi, this package needs " . self::ABI_VERSION . ' (use the matching libtrust build)',
                'ABI_MISMATCH',
                200
            );
        }
        return $ffi;
    }

    /** A fresh `trust_error *` slot for an err_out parameter. */
    public static function errSlot(): \FFI\CData
    {
        return self::ffi()->new('trust_error*');
    }

    /** Throws the error a failed call left in `$err` (and frees it); no-op on TRUST_OK. */
    public static function check(int $status, \FFI\CData $err): void
    {
        if ($status === 0) {
            return;
        }
        $ffi = self::ffi();
        if (\FFI::isNull($err)) {
            $name = $ffi->trust_status_str($status);
            self::raise($status, (string)$name, (string)$name, null);
        }
        $code = (string)$ffi->trust_error_code($err);
        $message = (string)$ffi->trust_error_message($err);
        $hint = $ffi->trust_error_hint($err);
        $ffi->trust_error_free($err);
        self::raise($status, $code, $message, $hint === null ? null : (string)$hint);
    }

    private static function raise(int $status, string $code, string $message, ?string $hint): never
    {
        if (intdiv($status, 100) === 1) {
            throw new VerificationException($message, $code, $status, $hint);
        }
        throw new TrustException($message, $code, $status, $hint);
    }

    /** Calls `trust_<fn>(...$args, err_out)` and throws on failure. */
    public static function call(string $fn, mixed ...$args): void
    {
        $err = self::errSlot();
        $args[] = \FFI::addr($err);
        $status = self::ffi()->{'trust_' . $fn}(...$args);
        self::check($status, $err);
    }

    /** A `trust_bytes *` out-slot. */
    public static function bytesSlot(): \FFI\CData
    {
        return self::ffi()->new('trust_bytes*');
    }

    /** The contents of a `trust_bytes *` as a PHP string, then frees (and zeroizes) it. */
    public static function take(\FFI\CData $bytes): string
    {
        $ffi = self::ffi();
        if (\FFI::isNull($bytes)) {
            return '';
        }
        $len = $ffi->trust_bytes_len($bytes);
        $data = $len === 0 ? '' : \FFI::string($ffi->trust_bytes_data($bytes), $len);
        $ffi->trust_bytes_free($bytes);
        return $data;
    }

    /** `take` for a nullable result. */
    public static function takeOrNull(\FFI\CData $bytes): ?string
    {
        return \FFI::isNull($bytes) ? null : self::take($bytes);
    }

    /** A scalar out-slot of C type `$type`. */
    public static function slot(string $type): \FFI\CData
    {
        return self::ffi()->new($type);
    }

    /**
     * Parallel `char *[]`/`size_t[]` arrays for a list of strings, as the C functions take them.
     * Returns [ptrs, lens, count, buffers]; keep `buffers` alive during the call, then pass it
     * to `wipe` when the strings are secrets.
     *
     * @param list<string> $items
     * @return array{0: ?\FFI\CData, 1: ?\FFI\CData, 2: int, 3: list<\FFI\CData>}
     */
    public static function strings(array $items): array
    {
        $items = array_values($items);
        $n = count($items);
        if ($n === 0) {
            return [null, null, 0, []];
        }
        $ffi = self::ffi();
        $ptrs = $ffi->new("char*[$n]");
        $lens = $ffi->new("size_t[$n]");
        $buffers = [];
        foreach ($items as $i => $item) {
            if (!is_string($item)) {
                throw new TrustException('expected a string at index ' . $i, 'INVALID_ARGUMENT', 200);
            }
            $len = strlen($item);
            $buf = $ffi->new('char[' . max(1, $len) . ']');
            \FFI::memcpy($buf, $item, $len);
            $ptrs[$i] = \FFI::addr($buf[0]);
            $lens[$i] = $len;
            $buffers[] = $buf;
        }
        return [$ptrs, $lens, $n, $buffers];
    }

    /** Overwrites copies of secrets made by `strings`. @param list<\FFI\CData> $buffers */
    public static function wipe(array $buffers): void
    {
        foreach ($buffers as $buf) {
            \FFI::memset($buf, 0, \FFI::sizeof($buf));
        }
    }

    /** @return mixed the decoded JSON */
    public static function json(string $text): mixed
    {
        return json_decode($text, true, 64, JSON_THROW_ON_ERROR);
    }

    /** An authenticated context (`trust_context *`) from key => value pairs; free with freeContext. */
    public static function context(array $pairs): \FFI\CData
    {
        $ffi = self::ffi();
        $ctx = $ffi->new('trust_context*');
        self::call('context_new', \FFI::addr($ctx));
        try {
            foreach ($pairs as $key => $value) {
                $key = (string)$key;
                $value = (string)$value;
                self::call('context_add', $ctx, $key, strlen($key), $value, strlen($value));
            }
        } catch (TrustException $e) {
            $ffi->trust_context_free($ctx);
            throw $e;
        }
        return $ctx;
    }
}

/** Versions of the loaded library. */
final class Version
{
    /** `trust-ffi/X.Y.Z` of the loaded library. */
    public static function library(): string
    {
        return (string)Lib::ffi()->trust_version();
    }

    /** The loaded library's C ABI version (checked against Lib::ABI_VERSION at load). */
    public static function abi(): int
    {
        return Lib::ffi()->trust_abi_version();
    }
}

/** Keyrings under one root key, and sealing/opening bound to a context. Thread-safe. */
final class Home
{
    private function __construct(private ?\FFI\CData $handle)
    {
    }

    /**
     * Creates a home in `$store` (a directory, or a `postgres://` URL) whose root key is the
     * 32-byte file `$rootKeyFile` (created if missing; keep it apart from the home).
     */
    public static function init(string $store, string $rootKeyFile): self
    {
        $out = Lib::ffi()->new('trust_home*');
        Lib::call('home_init_store', $store, strlen($store), $rootKeyFile, strlen($rootKeyFile), \FFI::addr($out));
        return new self($out);
    }

    /**
     * Opens the home in `$store` with its recorded key file, another path to the same key, or
     * the passphrase of a passphrase home.
     */
    public static function open(string $store, ?string $rootKeyFile = null, ?string $passphrase = null): self
    {
        $key = $rootKeyFile ?? '';
        $pass = $passphrase ?? '';
        $out = Lib::ffi()->new('trust_home*');
        Lib::call('home_open_store', $store, strlen($store), $key, strlen($key), $pass, strlen($pass), \FFI::addr($out));
        return new self($out);
    }

    /** @internal */
    public function handle(): \FFI\CData
    {
        if ($this->handle === null) {
            throw new TrustException('the home was closed', 'NULL_ARGUMENT', 201);
        }
        return $this->handle;
    }

    /** Frees the handle now (it is also freed when the object is destroyed). */
    public function close(): void
    {
        if ($this->handle !== null) {
            Lib::ffi()->trust_home_free($this->handle);
            $this->handle = null;
        }
    }

    public function __destruct()
    {
        $this->close();
    }

    /** Creates keyring `$name` with version 1 as Primary; `$suite` is `aes-256-gcm` or `xchacha20-poly1305`. */
    public function createKeyring(string $name, string $suite = 'aes-256-gcm'): void
    {
        $id = match ($suite) {
            'aes-256-gcm' => 1,
            'xchacha20-poly1305' => 2,
            default => throw new TrustException("unknown suite $suite", 'INVALID_ARGUMENT', 200),
        };
        Lib::call('home_create_keyring', $this->handle(), $name, strlen($name), $id);
    }

    /** Adds a version to keyring `$name` (Primary at once when `$promote`); returns its number. */
    public function rotate(string $name, bool $promote = true): int
    {
        $version = Lib::slot('uint32_t');
        Lib::call('home_rotate', $this->handle(), $name, strlen($name), $promote, \FFI::addr($version));
        return $version->cdata;
    }

    /** Promotes Staged version `$version` of `$name` to Primary. */
    public function promote(string $name, int $version): void
    {
        Lib::call('home_promote', $this->handle(), $name, strlen($name), $version);
    }

    /** Retires DecryptOnly version `$version` (it stops decrypting; `enable` reverses it). */
    public function retire(string $name, int $version): void
    {
        Lib::call('home_retire', $this->handle(), $name, strlen($name), $version);
    }

    /** Re-enables a Disabled or PendingDestroy version. */
    public function enable(string $name, int $version): void
    {
        Lib::call('home_enable', $this->handle(), $name, strlen($name), $version);
    }

    /**
     * Destroys a Disabled version; refused (`KEY_STILL_IN_USE`) while it may still decrypt live
     * data unless `$forceReason` says why (audited). Returns true when the key material is
     * erased, or the Unix time its grace period ends when it was only scheduled.
     */
    public function destroy(string $name, int $version, ?string $forceReason = null): bool|int
    {
        $reason = $forceReason ?? '';
        $destroyed = Lib::slot('bool');
        $after = Lib::slot('int64_t');
        Lib::call('home_destroy', $this->handle(), $name, strlen($name), $version, $reason, strlen($reason), \FFI::addr($destroyed), \FFI::addr($after));
        return $destroyed->cdata ? true : $after->cdata;
    }

    /** @return list<string> the keyring names */
    public function keyrings(): array
    {
        $out = Lib::bytesSlot();
        Lib::call('home_keyrings', $this->handle(), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** @return array<string, mixed> keyring `$name`: suite, versions, states (as `trust keys list --json`) */
    public function keyringInfo(string $name): array
    {
        $out = Lib::bytesSlot();
        Lib::call('home_keyring_info', $this->handle(), $name, strlen($name), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    private function withContext(array $context, callable $body): string
    {
        $ctx = Lib::context($context);
        try {
            return $body($ctx);
        } finally {
            Lib::ffi()->trust_context_free($ctx);
        }
    }

    /** Seals `$data` under keyring `$keyring`, bound to `$context`; returns the binary envelope. */
    public function seal(string $keyring, string $data, array $context = []): string
    {
        return $this->withContext($context, function ($ctx) use ($keyring, $data) {
            $out = Lib::bytesSlot();
            Lib::call('home_seal', $this->handle(), $keyring, strlen($keyring), $ctx, $data, strlen($data), \FFI::addr($out));
            return Lib::take($out);
        });
    }

    /**
     * Opens an envelope sealed with the same context; VerificationException when it does not
     * authenticate. (Named `unseal` because `Home::open` opens a home.)
     */
    public function unseal(string $blob, array $context = []): string
    {
        return $this->withContext($context, function ($ctx) use ($blob) {
            $out = Lib::bytesSlot();
            Lib::call('home_open', $this->handle(), $ctx, $blob, strlen($blob), \FFI::addr($out));
            return Lib::take($out);
        });
    }

    /** As `seal`, as a `tle1.` text token (for a database column or a URL). */
    public function sealToken(string $keyring, string $data, array $context = []): string
    {
        return $this->withContext($context, function ($ctx) use ($keyring, $data) {
            $out = Lib::bytesSlot();
            Lib::call('home_seal_token', $this->handle(), $keyring, strlen($keyring), $ctx, $data, strlen($data), \FFI::addr($out));
            return Lib::take($out);
        });
    }

    /** Opens a `tle1.` token sealed with the same context. */
    public function openToken(string $token, array $context = []): string
    {
        return $this->withContext($context, function ($ctx) use ($token) {
            $out = Lib::bytesSlot();
            Lib::call('home_open_token', $this->handle(), $ctx, $token, strlen($token), \FFI::addr($out));
            return Lib::take($out);
        });
    }

    /** The vault of this home (keyring `vault` unless named), recording reads into `$audit`. */
    public function vault(?string $keyring = null, ?AuditLog $audit = null): Vault
    {
        return Vault::open($this, $keyring, $audit);
    }

    /**
     * Issues a scoped access token under `$keyring` for `$tenant` with `$scopes`, valid `$ttl`
     * seconds, for `$audience` (null: none).
     *
     * @param list<string> $scopes
     */
    public function issueAccessToken(string $keyring, string $tenant, array $scopes, int $ttl, ?string $audience = null, int $now = 0): string
    {
        $audience ??= '';
        [$sp, $sl, $sn, $sb] = Lib::strings(array_map('strval', $scopes));
        $out = Lib::bytesSlot();
        Lib::call('access_token_issue', $this->handle(), $keyring, strlen($keyring), $tenant, strlen($tenant), $sp, $sl, $sn, $audience, strlen($audience), $ttl, $now, \FFI::addr($out));
        unset($sb);
        return Lib::take($out);
    }

    /**
     * Verifies an access token for `$tenant` and `$scope` (and `$audience`); returns its claims.
     *
     * @return array{tenant: string, scopes: list<string>, audience: ?string, issued_at: int, expires_at: int, id: string}
     * @throws VerificationException for a forged, expired or unfitting token
     */
    public function verifyAccessToken(string $token, string $tenant, string $scope, ?string $audience = null, int $now = 0): array
    {
        $audience ??= '';
        $out = Lib::bytesSlot();
        Lib::call('access_token_verify', $this->handle(), $token, strlen($token), $tenant, strlen($tenant), $scope, strlen($scope), $audience, strlen($audience), $now, \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** Per-subject keys in this home's store (GDPR), receipts signed with `$signingKeyFile`. */
    /**
     * Encrypts file `$src` into `$dst` under keyring `$keyring` in constant memory (the CLI's
     * `trust encrypt` format); `$dst` is replaced atomically, only once complete. Returns the
     * plaintext byte count.
     */
    public function encryptFile(string $keyring, string $src, string $dst, array $context = []): int
    {
        $ctx = Lib::context($context);
        try {
            $n = Lib::slot('uint64_t');
            Lib::call('home_encrypt_file', $this->handle(), $keyring, strlen($keyring), $ctx, $src, strlen($src), $dst, strlen($dst), \FFI::addr($n));
            return $n->cdata;
        } finally {
            Lib::ffi()->trust_context_free($ctx);
        }
    }

    /**
     * Decrypts file `$src` into `$dst`; `$dst` is put in place only once the whole file
     * authenticated (a tampered or truncated file leaves it as it was). Returns the byte count.
     */
    public function decryptFile(string $src, string $dst, array $context = []): int
    {
        $ctx = Lib::context($context);
        try {
            $n = Lib::slot('uint64_t');
            Lib::call('home_decrypt_file', $this->handle(), $ctx, $src, strlen($src), $dst, strlen($dst), \FFI::addr($n));
            return $n->cdata;
        } finally {
            Lib::ffi()->trust_context_free($ctx);
        }
    }

    /**
     * Gives back the seals this handle reserved but did not use (seals are counted in blocks);
     * call it when a worker winds down, so the destroy guard can clear after a rewrap.
     */
    public function releaseUnused(): void
    {
        Lib::call('home_release_unused', $this->handle());
    }

    /** A rewrap job over this home (with `$subjects`, subjects' messages are moved too). */
    public function rewrapper(?Subjects $subjects = null): Rewrapper
    {
        return Rewrapper::open($this, $subjects);
    }

    /**
     * The GDPR request register (where `trust gdpr requests` keeps it), each request with
     * `due` and `overdue` at `$at` (Unix seconds, 0 = now).
     *
     * @return list<array<string, mixed>>
     */
    public function gdprRequests(int $at = 0, bool $overdueOnly = false): array
    {
        $out = Lib::bytesSlot();
        Lib::call('gdpr_requests_list', $this->handle(), $at, $overdueOnly, \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /**
     * Records request `$id` of `$kind` (access, export, erasure, rectification) from a data
     * subject (stored as their pseudonym under `$keyring`, through `$subjects`); returns it.
     *
     * @return array<string, mixed>
     */
    public function addGdprRequest(Subjects $subjects, string $id, string $kind, string $keyring, string $subjectId, int $received = 0, string $regime = 'eu-gdpr', bool $weekendRollsForward = false, ?AuditLog $audit = null): array
    {
        $out = Lib::bytesSlot();
        Lib::call('gdpr_request_add', $this->handle(), $subjects->handle(), $id, strlen($id), $kind, strlen($kind), $keyring, strlen($keyring), $subjectId, strlen($subjectId), $received, $regime, strlen($regime), $weekendRollsForward, $audit?->handle(), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /**
     * Moves request `$id` on: `start`, `complete`, `reject` (with `$reason`) or `extend` (by
     * `$months`, with `$reason`); returns it.
     *
     * @return array<string, mixed>
     */
    public function updateGdprRequest(string $id, string $action, int $months = 0, string $reason = '', int $at = 0, ?AuditLog $audit = null): array
    {
        $out = Lib::bytesSlot();
        Lib::call('gdpr_request_update', $this->handle(), $id, strlen($id), $action, strlen($action), $months, $reason, strlen($reason), $at, $audit?->handle(), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    public function subjects(string $signingKeyFile): Subjects
    {
        return Subjects::open($this, $signingKeyFile);
    }

    /** The second factors of this home; `$issuer` is the name authenticator apps show. */
    public function mfa(string $issuer = '', ?AuditLog $audit = null): Mfa
    {
        return Mfa::open($this, $issuer, $audit);
    }
}

/** Webhook verification for every scheme, through the library's one dispatcher. */
final class Webhook
{
    /**
     * Verifies a delivery. `$scheme` is a CLI `--provider` name (`shopify`, `shopify-oauth`,
     * `shopify-app-proxy`, `shopify-session-token`, `stripe`, `hubspot-v1`, `hubspot-v2`,
     * `hubspot-v3`, `standard-webhooks`, `github`, `slack`); `$body` the raw body exactly as
     * received; `$headers` name => value (a value may be a list, as from some frameworks) or a
     * list of [name, value] pairs; `$secrets` one secret or a list, current first.
     *
     * `$options`: `now` (Unix seconds; default time()), `url` and `method` (HubSpot v2/v3),
     * `query` (Shopify OAuth and App Proxy, without `?`), `audience` (Shopify session tokens:
     * the app's API key), `tolerance` (seconds; default: the scheme's).
     *
     * @param array<string, string|list<string>>|list<array{0: string, 1: string}> $headers
     * @param string|list<string> $secrets
     * @return array{scheme: string, secret_index: int, timestamp: ?int, delivery_id: ?string, shop: ?string}
     * @throws VerificationException on a bad or stale signature
     * @throws TrustException on a configuration error (unknown scheme, bad secret)
     */
    public static function verify(string $scheme, string $body, array $headers, string|array $secrets, array $options = []): array
    {
        $secrets = is_string($secrets) ? [$secrets] : array_values($secrets);
        [$names, $values] = self::flatten($headers);
        $ffi = Lib::ffi();
        [$sp, $sl, $sn, $sbufs] = Lib::strings($secrets);
        $verifier = $ffi->new('trust_webhook_verifier*');
        try {
            $tolerance = isset($options['tolerance']) ? (int)$options['tolerance'] : -1;
            // TRUST_WEBHOOK_SCHEME_DEFAULT is UINT64_MAX; PHP's -1 converts to it.
            Lib::call('webhook_verifier_new', $sp, $sl, $sn, $tolerance, \FFI::addr($verifier));
        } finally {
            Lib::wipe($sbufs);
        }
        try {
            [$np, $nl, $hn, $nbufs] = Lib::strings($names);
            [$vp, $vl, , $vbufs] = Lib::strings($values);
            $method = (string)($options['method'] ?? '');
            $url = (string)($options['url'] ?? '');
            $query = (string)($options['query'] ?? '');
            $audience = (string)($options['audience'] ?? '');
            $now = (int)($options['now'] ?? time());
            $out = Lib::bytesSlot();
            Lib::call(
                'webhook_verify',
                $verifier,
                $scheme,
                strlen($scheme),
                $body,
                strlen($body),
                $np,
                $nl,
                $vp,
                $vl,
                $hn,
                $method,
                strlen($method),
                $url,
                strlen($url),
                $query,
                strlen($query),
                $audience,
                strlen($audience),
                $now,
                \FFI::addr($out)
            );
            unset($nbufs, $vbufs);
            return Lib::json(Lib::take($out));
        } finally {
            $ffi->trust_webhook_verifier_free($verifier);
        }
    }

    /**
     * Signs a delivery as the provider would, for tests: returns the headers it sends, name =>
     * value in the provider's order, which `verify` accepts under the same scheme, secrets and
     * time. Through the C ABI's `trust_webhook_sign`, trust-core's one signing dispatcher (the
     * CLI's `trust webhook sign` uses it too). Stripe and Standard Webhooks send one signature
     * per secret; the other schemes sign with the first (current) secret.
     *
     * `$options`: `now` (Unix seconds; default time()), `url` and `method` (HubSpot v2/v3),
     * `id` (the delivery id: Standard Webhooks' signed `webhook-id`, random when absent; sent
     * as `X-Shopify-Webhook-Id` / `X-GitHub-Delivery` when given), `audience` and `shop`
     * (Shopify session tokens: the app's API key and `name.myshopify.com`). Shopify OAuth and
     * App Proxy sign a query string, not headers: use `signQuery` for them.
     *
     * @param string|list<string> $secrets
     * @return array<string, string>
     * @throws TrustException `WEBHOOK_CONFIG` for an unknown scheme, a bad secret or a missing
     *         option; `MALFORMED` for a shop or id a verifier would refuse
     */
    public static function sign(string $scheme, string $body, string|array $secrets, array $options = []): array
    {
        if ($scheme === 'shopify-oauth' || $scheme === 'shopify-app-proxy') {
            throw new TrustException("$scheme signs a query string: use Webhook::signQuery", 'WEBHOOK_CONFIG', 200);
        }
        return self::signed($scheme, $body, $secrets, $options)[0];
    }

    /**
     * Signs the raw query string `$query` (without `?`) of a Shopify OAuth callback
     * (`shopify-oauth`: appends `hmac`) or App Proxy request (`shopify-app-proxy`: appends
     * `signature`) with the first secret; `verify` accepts the result as its `query` option.
     *
     * @param string|list<string> $secrets
     * @throws TrustException `WEBHOOK_CONFIG` for another scheme; `MALFORMED` for a query that
     *         does not parse or is already signed
     */
    public static function signQuery(string $scheme, string $query, string|array $secrets): string
    {
        if ($scheme !== 'shopify-oauth' && $scheme !== 'shopify-app-proxy') {
            throw new TrustException("$scheme signs headers: use Webhook::sign", 'WEBHOOK_CONFIG', 200);
        }
        return (string)self::signed($scheme, '', $secrets, ['query' => $query])[1];
    }

    /** @return array{0: array<string, string>, 1: ?string} */
    private static function signed(string $scheme, string $body, string|array $secrets, array $options): array
    {
        $secrets = is_string($secrets) ? [$secrets] : array_values($secrets);
        $ffi = Lib::ffi();
        $text = [];
        foreach (['method', 'url', 'query', 'id', 'audience', 'shop'] as $key) {
            $text[$key] = (string)($options[$key] ?? '');
        }
        $now = (int)($options['now'] ?? time());
        $signed = $ffi->new('trust_webhook_signed*');
        [$sp, $sl, $sn, $sbufs] = Lib::strings($secrets);
        try {
            Lib::call(
                'webhook_sign',
                $scheme,
                strlen($scheme),
                $sp,
                $sl,
                $sn,
                $body,
                strlen($body),
                $text['method'],
                strlen($text['method']),
                $text['url'],
                strlen($text['url']),
                $text['query'],
                strlen($text['query']),
                $text['id'],
                strlen($text['id']),
                $text['audience'],
                strlen($text['audience']),
                $text['shop'],
                strlen($text['shop']),
                $now,
                \FFI::addr($signed)
            );
        } finally {
            Lib::wipe($sbufs);
        }
        try {
            $names = $ffi->new('char**');
            $nameLens = $ffi->new('size_t*');
            $values = $ffi->new('char**');
            $valueLens = $ffi->new('size_t*');
            $count = $ffi->new('size_t');
            Lib::call(
                'webhook_signed_headers',
                $signed,
                \FFI::addr($names),
                \FFI::addr($nameLens),
                \FFI::addr($values),
                \FFI::addr($valueLens),
                \FFI::addr($count)
            );
            $headers = [];
            for ($i = 0; $i < $count->cdata; $i++) {
                $headers[\FFI::string($names[$i], $nameLens[$i])] = \FFI::string($values[$i], $valueLens[$i]);
            }
            $q = $ffi->new('char*');
            $qLen = $ffi->new('size_t');
            Lib::call('webhook_signed_query', $signed, \FFI::addr($q), \FFI::addr($qLen));
            $query = \FFI::isNull($q) ? null : \FFI::string($q, $qLen->cdata);
            return [$headers, $query];
        } finally {
            $ffi->trust_webhook_signed_free($signed);
        }
    }

    /** @return array{0: list<string>, 1: list<string>} */
    private static function flatten(array $headers): array
    {
        $names = [];
        $values = [];
        foreach ($headers as $key => $value) {
            if (is_int($key) && is_array($value) && count($value) === 2 && array_is_list($value)) {
                [$name, $v] = $value;
                $names[] = (string)$name;
                $values[] = (string)$v;
                continue;
            }
            foreach (is_array($value) ? $value : [$value] as $v) {
                $names[] = (string)$key;
                $values[] = (string)$v;
            }
        }
        return [$names, $values];
    }
}

/** Admits each webhook delivery id once: per process, or across workers through a shared store. */
final class ReplayGuard
{
    private ?\FFI\CData $handle;

    /**
     * `$store`: a `redis://` or `postgres://` URL shared by every worker, or null for this
     * process only; ids are remembered for `$ttl` seconds.
     */
    public function __construct(?string $store = null, int $ttl = 600)
    {
        $store ??= '';
        $out = Lib::ffi()->new('trust_replay_guard*');
        Lib::call('replay_guard_new', $store === '' ? null : $store, strlen($store), $ttl, \FFI::addr($out));
        $this->handle = $out;
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            Lib::ffi()->trust_replay_guard_free($this->handle);
            $this->handle = null;
        }
    }

    /**
     * True the first time `$id` is seen under `$namespace` (use the scheme name and the
     * `delivery_id` Webhook::verify returned), false for a duplicate (answer 200, skip the work).
     *
     * @throws TrustException `REPLAY_STORE` when the shared store cannot record it
     */
    public function firstTime(string $namespace, string $id, ?int $now = null): bool
    {
        try {
            Lib::call('replay_guard_check', $this->handle, $namespace, strlen($namespace), $id, strlen($id), $now ?? time());
            return true;
        } catch (VerificationException $e) {
            if ($e->trustCode === 'REPLAYED') {
                return false;
            }
            throw $e;
        }
    }
}

/** Password hashing: argon2id, with bcrypt hashes verified and upgraded at login. */
final class Password
{
    /** An argon2id PHC string for `$password` (tens of milliseconds by design). */
    public static function hash(string $password): string
    {
        $out = Lib::bytesSlot();
        Lib::call('password_hash', $password, strlen($password), \FFI::addr($out));
        return Lib::take($out);
    }

    /** Whether `$password` matches `$stored` (argon2 PHC or bcrypt). */
    public static function verify(string $stored, string $password): bool
    {
        return self::verifyAndUpgrade($stored, $password)[0];
    }

    /**
     * Checks `$password`; on a match with an outdated hash (bcrypt, weaker parameters), the
     * second element is a fresh argon2id hash to store instead.
     *
     * @return array{0: bool, 1: ?string}
     */
    public static function verifyAndUpgrade(string $stored, string $password): array
    {
        $matches = Lib::slot('bool');
        $rehash = Lib::bytesSlot();
        Lib::call('password_verify', $stored, strlen($stored), $password, strlen($password), \FFI::addr($matches), \FFI::addr($rehash));
        return [(bool)$matches->cdata, Lib::takeOrNull($rehash)];
    }
}

/** Redaction of credentials, card numbers and registered values from text before it is logged. */
final class Redact
{
    /** `$text` with every credential and card number replaced by `[REDACTED:kind]`. */
    public static function text(string $text): string
    {
        $out = Lib::bytesSlot();
        Lib::call('redact', $text, strlen($text), \FFI::addr($out));
        return Lib::take($out);
    }
}

/**
 * A tamper-evident audit log (Merkle tree, signed checkpoints) in a directory or in PostgreSQL
 * (`postgres://…?log=NAME`, written by any number of workers at once). Thread-safe.
 */
final class AuditLog
{
    private function __construct(private ?\FFI\CData $handle)
    {
    }

    /** Creates a log at `$dir` (a directory or a `postgres://…?log=NAME` URL) named `$origin` (e.g. `example.com/audit`); returns its verifier key. */
    public static function init(string $dir, string $origin): string
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_log_init', $dir, strlen($dir), $origin, strlen($origin), \FFI::addr($out));
        return Lib::take($out);
    }

    /** Opens the log at `$dir` (a directory or a `postgres://` URL) for appending. */
    public static function open(string $dir): self
    {
        $out = Lib::ffi()->new('trust_audit_log*');
        Lib::call('audit_log_open', $dir, strlen($dir), \FFI::addr($out));
        return new self($out);
    }

    /** Verifies the log at `$dir` (a directory or a `postgres://` URL) against `$vkey`; returns the report (VerificationException when tampered). */
    public static function verify(string $dir, string $vkey): array
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_log_verify', $dir, strlen($dir), $vkey, strlen($vkey), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /**
     * Writes a key-free copy of the log at `$log` (a directory or a `postgres://` URL) into the
     * empty directory `$toDir`, which an auditor verifies offline; returns the summary.
     *
     * @return array{entries: int, checkpoints: int, payloads: int, unacknowledged_tail_bytes: int}
     */
    public static function export(string $log, string $toDir): array
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_log_export', $log, strlen($log), $toDir, strlen($toDir), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** @internal */
    public function handle(): \FFI\CData
    {
        if ($this->handle === null) {
            throw new TrustException('the audit log was closed', 'NULL_ARGUMENT', 201);
        }
        return $this->handle;
    }

    public function close(): void
    {
        if ($this->handle !== null) {
            Lib::ffi()->trust_audit_log_free($this->handle);
            $this->handle = null;
        }
    }

    public function __destruct()
    {
        $this->close();
    }

    /**
     * Appends an entry (actor and subject are pseudonymized in the log) with searchable
     * `$attributes` (key => value, stored in clear: no secrets or personal data); returns its
     * index.
     *
     * @param array<string, string|int> $attributes
     */
    public function append(string $event, string $actor = '', string $subject = '', string $payload = '', array $attributes = []): int
    {
        $index = Lib::slot('uint64_t');
        [$kp, $kl, $n, $kb] = Lib::strings(array_map('strval', array_keys($attributes)));
        [$vp, $vl, , $vb] = Lib::strings(array_map('strval', array_values($attributes)));
        Lib::call('audit_log_append_attrs', $this->handle(), $event, strlen($event), $actor, strlen($actor), $subject, strlen($subject), $kp, $kl, $vp, $vl, $n, $payload, strlen($payload), \FFI::addr($index));
        unset($kb, $vb);
        return $index->cdata;
    }

    /** An inclusion receipt (C2SP tlog-proof text) for entry `$index`; `$size` 0 = newest checkpoint. */
    public function prove(int $index, int $size = 0): string
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_log_prove', $this->handle(), $index, $size, \FFI::addr($out));
        return Lib::take($out);
    }

    /**
     * Verifies a receipt against the log's verifier key, without the log.
     *
     * @return array{index: int, checkpoint_size: int, event: string, time_unix_ms: int}
     * @throws VerificationException when it does not verify
     */
    public static function verifyReceipt(string $receipt, string $vkey): array
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_verify_receipt', $receipt, strlen($receipt), $vkey, strlen($vkey), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** The consistency proof (hash lines) that checkpoint `$newNote` extends `$oldNote`, checked before it is returned. */
    public function consistencyProof(string $oldNote, string $newNote): string
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_log_consistency_proof', $this->handle(), $oldNote, strlen($oldNote), $newNote, strlen($newNote), \FFI::addr($out));
        return Lib::take($out);
    }

    /**
     * Verifies without the log that `$newNote` extends `$oldNote` (no fork, no truncation).
     *
     * @return array{old_size: int, new_size: int}
     * @throws VerificationException when it does not
     */
    public static function verifyConsistency(string $oldNote, string $newNote, string $vkey, string $proof): array
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_verify_consistency', $oldNote, strlen($oldNote), $newNote, strlen($newNote), $vkey, strlen($vkey), $proof, strlen($proof), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** Number of entries. */
    public function size(): int
    {
        $size = Lib::slot('uint64_t');
        Lib::call('audit_log_size', $this->handle(), \FFI::addr($size));
        return $size->cdata;
    }

    /** The Merkle root (32 bytes). */
    public function root(): string
    {
        $buf = Lib::ffi()->new('char[32]');
        Lib::call('audit_log_root', $this->handle(), $buf, 32);
        return \FFI::string($buf, 32);
    }

    /** Signs and returns a checkpoint (C2SP signed note). */
    public function checkpoint(): string
    {
        $out = Lib::bytesSlot();
        Lib::call('audit_log_checkpoint', $this->handle(), \FFI::addr($out));
        return Lib::take($out);
    }
}

/** Named, versioned, sealed, access-listed, audited secrets per tenant (`tenant/name`). Thread-safe. */
final class Vault
{
    public const KIND_API_KEY = 'api-key';
    public const KIND_OAUTH = 'oauth';
    public const REFRESHED = 'refreshed';
    public const TOOK_WINNERS = 'took-winners';
    public const STILL_FRESH = 'still-fresh';

    /** @param Home $home kept so that the PHP object outlives nothing it needs */
    private function __construct(private ?\FFI\CData $handle, private Home $home, private ?AuditLog $audit)
    {
    }

    /** @internal use Home::vault() */
    public static function open(Home $home, ?string $keyring, ?AuditLog $audit): self
    {
        $keyring ??= '';
        $out = Lib::ffi()->new('trust_vault*');
        Lib::call('vault_new', $home->handle(), $keyring, strlen($keyring), $audit?->handle(), \FFI::addr($out));
        return new self($out, $home, $audit);
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            Lib::ffi()->trust_vault_free($this->handle);
            $this->handle = null;
        }
    }

    /**
     * Stores `$value` as a new version of `$name` acting as `$actor`; returns the version.
     * `$options`: `kind` (`api-key`|`oauth`), `readers` (list of actors; default for a new
     * secret: `$actor`), `expires` (Unix seconds), `refresh_token`.
     */
    public function put(string $actor, string $name, string $value, array $options = []): int
    {
        return $this->write('vault_put', $actor, $name, $value, $options);
    }

    /** As `put`, for an existing secret (key rotation). */
    public function rotate(string $actor, string $name, string $value, array $options = []): int
    {
        return $this->write('vault_rotate', $actor, $name, $value, $options);
    }

    private function write(string $fn, string $actor, string $name, string $value, array $options): int
    {
        $kind = match ($options['kind'] ?? null) {
            null => 0,
            self::KIND_API_KEY => 1,
            self::KIND_OAUTH => 2,
            default => throw new TrustException('unknown kind ' . (string)$options['kind'], 'INVALID_ARGUMENT', 200),
        };
        [$rp, $rl, $rn, $rbufs] = Lib::strings(array_map('strval', $options['readers'] ?? []));
        $refresh = (string)($options['refresh_token'] ?? '');
        $version = Lib::slot('uint32_t');
        Lib::call($fn, $this->handle, $actor, strlen($actor), $name, strlen($name), $value, strlen($value), $kind, $rp, $rl, $rn, (int)($options['expires'] ?? 0), $refresh, strlen($refresh), \FFI::addr($version));
        unset($rbufs);
        return $version->cdata;
    }

    /**
     * Reads `$name` for `$actor`, stating `$purpose` (audited); `$version` 0 = current.
     *
     * @return array{value: string, version: int, refresh_token: ?string}
     * @throws TrustException `SECRET_NOT_READER` (status 500), `SECRET_NOT_FOUND`/`SECRET_DELETED` (400)
     */
    public function get(string $actor, string $name, string $purpose, int $version = 0): array
    {
        $value = Lib::bytesSlot();
        $got = Lib::slot('uint32_t');
        $refresh = Lib::bytesSlot();
        Lib::call('vault_get', $this->handle, $actor, strlen($actor), $name, strlen($name), $purpose, strlen($purpose), $version, \FFI::addr($value), \FFI::addr($got), \FFI::addr($refresh));
        return ['value' => Lib::take($value), 'version' => $got->cdata, 'refresh_token' => Lib::takeOrNull($refresh)];
    }

    /** Whether the current version expires within `$marginSecs` of `$now` (0: the clock). */
    public function needsRefresh(string $name, int $marginSecs, int $now = 0): bool
    {
        $needs = Lib::slot('bool');
        Lib::call('vault_needs_refresh', $this->handle, $name, strlen($name), $now, $marginSecs, \FFI::addr($needs));
        return (bool)$needs->cdata;
    }

    /**
     * Stores a refreshed OAuth token only if the current version is still `$expectedVersion`
     * (the one read before calling the provider). Returns the token to use and whose it is.
     *
     * @return array{value: string, version: int, outcome: string}
     */
    public function refresh(string $actor, string $name, string $purpose, int $marginSecs, int $expectedVersion, string $value, ?string $refreshToken = null, int $expires = 0): array
    {
        $refreshToken ??= '';
        $out = Lib::bytesSlot();
        $version = Lib::slot('uint32_t');
        $outcome = Lib::slot('uint32_t');
        Lib::call('vault_refresh', $this->handle, $actor, strlen($actor), $name, strlen($name), $purpose, strlen($purpose), $marginSecs, $expectedVersion, $value, strlen($value), $refreshToken, strlen($refreshToken), $expires, \FFI::addr($out), \FFI::addr($version), \FFI::addr($outcome));
        $names = [1 => self::STILL_FRESH, 2 => self::REFRESHED, 3 => self::TOOK_WINNERS];
        return ['value' => Lib::take($out), 'version' => $version->cdata, 'outcome' => $names[$outcome->cdata] ?? 'unknown'];
    }

    /** @return list<array<string, mixed>> metadata of every secret (of `$tenant`), never values */
    public function list(string $tenant = ''): array
    {
        $out = Lib::bytesSlot();
        Lib::call('vault_list', $this->handle, $tenant, strlen($tenant), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** Deletes `$name` (a tombstone keeps its version numbers). */
    public function delete(string $actor, string $name): void
    {
        Lib::call('vault_delete', $this->handle, $actor, strlen($actor), $name, strlen($name));
    }
}

/** Data sealed per data subject, made unreadable everywhere by one erasure (GDPR). Thread-safe. */
final class Subjects
{
    private function __construct(private ?\FFI\CData $handle, private Home $home)
    {
    }

    /** @internal use Home::subjects() */
    public static function open(Home $home, string $signingKeyFile): self
    {
        $out = Lib::ffi()->new('trust_subjects*');
        Lib::call('subjects_in_home', $home->handle(), $signingKeyFile, strlen($signingKeyFile), \FFI::addr($out));
        return new self($out, $home);
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            Lib::ffi()->trust_subjects_free($this->handle);
            $this->handle = null;
        }
    }

    /** @internal */
    public function handle(): \FFI\CData
    {
        if ($this->handle === null) {
            throw new TrustException('the subjects handle was freed', 'NULL_ARGUMENT', 201);
        }
        return $this->handle;
    }

    /** The Ed25519 public key (32 bytes) that verifies this store's receipts and export bundles. */
    public function publicKey(): string
    {
        $buf = Lib::ffi()->new('char[32]');
        Lib::call('subjects_signer_public_key', $this->handle(), $buf, 32);
        return \FFI::string($buf, 32);
    }

    /**
     * Writes the signed export bundle (`trust-export/v1`) of subject `$subjectId` to `$out`
     * (mode 0600, in place only once complete): `$records` is a list of `[category, record]`
     * pairs, each record any JSON-encodable value. Returns the manifest.
     *
     * @param list<array{0: string, 1: mixed}> $records
     * @return array<string, mixed>
     */
    public function export(string $keyring, string $subjectId, array $records, string $out, string $request = ''): array
    {
        $cats = [];
        $texts = [];
        foreach (array_values($records) as $i => $pair) {
            if (!is_array($pair) || count($pair) !== 2) {
                throw new TrustException("record $i is not a [category, record] pair", 'INVALID_ARGUMENT', 200);
            }
            [$cats[], $value] = array_values($pair);
            $texts[] = json_encode($value, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        }
        [$cp, $cl, $n, $cb] = Lib::strings($cats);
        [$rp, $rl, , $rb] = Lib::strings($texts);
        $slot = Lib::bytesSlot();
        try {
            Lib::call('subjects_export', $this->handle(), $keyring, strlen($keyring), $subjectId, strlen($subjectId), $request, strlen($request), $cp, $cl, $rp, $rl, $n, $out, strlen($out), \FFI::addr($slot));
        } finally {
            Lib::wipe($rb);
            unset($cb);
        }
        return Lib::json(Lib::take($slot));
    }

    /**
     * Verifies an export bundle file against the signer's `$publicKey` (32 bytes); returns its
     * manifest, or throws VerificationException for an altered or foreign bundle.
     *
     * @return array<string, mixed>
     */
    public static function verifyExport(string $path, string $publicKey): array
    {
        $out = Lib::bytesSlot();
        Lib::call('gdpr_verify_export', $path, strlen($path), $publicKey, strlen($publicKey), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** Seals `$data` for subject `$subjectId` under keyring `$keyring` (only its pseudonym is stored). */
    public function seal(string $keyring, string $subjectId, string $data, array $context = []): string
    {
        $ctx = Lib::context($context);
        try {
            $out = Lib::bytesSlot();
            Lib::call('subjects_seal', $this->handle, $keyring, strlen($keyring), $subjectId, strlen($subjectId), $ctx, $data, strlen($data), \FFI::addr($out));
            return Lib::take($out);
        } finally {
            Lib::ffi()->trust_context_free($ctx);
        }
    }

    /** Opens data sealed for a subject; `KEY_UNAVAILABLE` (status 400) once the subject is erased. */
    public function unseal(string $blob, array $context = []): string
    {
        $ctx = Lib::context($context);
        try {
            $out = Lib::bytesSlot();
            Lib::call('subjects_open', $this->handle, $ctx, $blob, strlen($blob), \FFI::addr($out));
            return Lib::take($out);
        } finally {
            Lib::ffi()->trust_context_free($ctx);
        }
    }

    /**
     * Erases subject `$subjectId`'s key: everything sealed for them becomes unreadable, here and
     * on every worker. Returns the signed erasure receipt (JSON) to keep as evidence.
     */
    public function erase(string $keyring, string $subjectId, string $request = '', int $backupRetentionDays = 0, ?AuditLog $audit = null): string
    {
        $out = Lib::bytesSlot();
        Lib::call('subjects_erase', $this->handle, $keyring, strlen($keyring), $subjectId, strlen($subjectId), $request, strlen($request), $backupRetentionDays, $audit?->handle(), \FFI::addr($out));
        return Lib::take($out);
    }
}

/** TOTP second factors with replay protection, and recovery codes. Thread-safe. */
final class Mfa
{
    private function __construct(private ?\FFI\CData $handle, private Home $home, private ?AuditLog $audit)
    {
    }

    /** @internal use Home::mfa() */
    public static function open(Home $home, string $issuer, ?AuditLog $audit): self
    {
        $out = Lib::ffi()->new('trust_mfa*');
        Lib::call('mfa_new', $home->handle(), $issuer, strlen($issuer), $audit?->handle(), \FFI::addr($out));
        return new self($out, $home, $audit);
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            Lib::ffi()->trust_mfa_free($this->handle);
            $this->handle = null;
        }
    }

    /**
     * Enrolls a factor and returns its `otpauth://` URI (holds the secret: show it once).
     * `$algorithm`: `sha1` (default), `sha256`, `sha512`; `$digits` 6 or 8; `$secret` imports one.
     */
    public function enroll(string $user, string $device = '', ?string $secret = null, string $algorithm = 'sha1', int $digits = 6): string
    {
        $alg = match ($algorithm) {
            'sha1' => 1,
            'sha256' => 2,
            'sha512' => 3,
            default => throw new TrustException("unknown algorithm $algorithm", 'INVALID_ARGUMENT', 200),
        };
        $secret ??= '';
        $out = Lib::bytesSlot();
        Lib::call('mfa_enroll', $this->handle, $user, strlen($user), $device, strlen($device), $secret, strlen($secret), $alg, $digits, \FFI::addr($out));
        return Lib::take($out);
    }

    /**
     * Whether `$code` is accepted for `$user` now (or at `$now`, Unix seconds); an accepted code
     * is burnt. False for a wrong, expired or reused code.
     *
     * @throws TrustException `MFA_RATE_LIMITED` after too many attempts, `MFA_NOT_ENROLLED`
     */
    public function verify(string $user, string $code, string $device = '', int $now = 0): bool
    {
        try {
            Lib::call('mfa_verify', $this->handle, $user, strlen($user), $device, strlen($device), $code, strlen($code), $now, null);
            return true;
        } catch (VerificationException $e) {
            return false;
        }
    }

    /** @return list<string> a new set of single-use recovery codes (replacing the old set) */
    public function recoveryCodes(string $user): array
    {
        $out = Lib::bytesSlot();
        Lib::call('mfa_recovery_codes', $this->handle, $user, strlen($user), \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }

    /** Whether `$code` is an unused recovery code of `$user` (it is then burnt). */
    public function redeemRecoveryCode(string $user, string $code): bool
    {
        try {
            Lib::call('mfa_redeem_recovery_code', $this->handle, $user, strlen($user), $code, strlen($code));
            return true;
        } catch (VerificationException $e) {
            return false;
        }
    }

    /** Removes every factor and recovery code of `$user`; whether there was anything. */
    public function remove(string $user): bool
    {
        $removed = Lib::slot('bool');
        Lib::call('mfa_remove', $this->handle, $user, strlen($user), \FFI::addr($removed));
        return (bool)$removed->cdata;
    }
}

/**
 * Moves stored ciphertexts to their keyring's current Primary (bodies untouched) and keeps the
 * census that lets `Home::destroy` clear the old version without a forced reason: call
 * `stored($replacement)` once each replacement is saved in place of the old item, then
 * `finish()`. Thread-safe.
 */
final class Rewrapper
{
    private function __construct(private ?\FFI\CData $handle, private Home $home, private ?Subjects $subjects)
    {
    }

    /** @internal use Home::rewrapper() */
    public static function open(Home $home, ?Subjects $subjects = null): self
    {
        $out = Lib::ffi()->new('trust_rewrapper*');
        Lib::call('rewrapper_new', $home->handle(), $subjects?->handle(), \FFI::addr($out));
        return new self($out, $home, $subjects);
    }

    public function __destruct()
    {
        if ($this->handle !== null) {
            Lib::ffi()->trust_rewrapper_free($this->handle);
            $this->handle = null;
        }
    }

    /** The envelope under the current Primary, or null when it is already (nothing to store). */
    public function blob(string $envelope): ?string
    {
        $out = Lib::bytesSlot();
        Lib::call('rewrapper_blob', $this->handle, $envelope, strlen($envelope), \FFI::addr($out));
        return Lib::takeOrNull($out);
    }

    /** As `blob`, for a `tle1.` token and the context it was sealed with. */
    public function token(string $token, array $context = []): ?string
    {
        $ctx = Lib::context($context);
        try {
            $out = Lib::bytesSlot();
            Lib::call('rewrapper_token', $this->handle, $ctx, $token, strlen($token), \FFI::addr($out));
            return Lib::takeOrNull($out);
        } finally {
            Lib::ffi()->trust_context_free($ctx);
        }
    }

    /** Confirms that `$replacement` is stored (`REWRAP_NOT_ISSUED` for one this job did not hand out). */
    public function stored(string $replacement): void
    {
        Lib::call('rewrapper_stored', $this->handle, $replacement, strlen($replacement));
    }

    /** Records the confirmed counts in the keyrings; returns how many were recorded. */
    public function finish(): int
    {
        $n = Lib::slot('uint64_t');
        Lib::call('rewrapper_finish', $this->handle, \FFI::addr($n));
        return $n->cdata;
    }
}

/** Tenant-scoped access control: roles as data, per-member overrides, deny by default. Thread-safe. */
final class AccessControl
{
    private \FFI\CData $handle;

    /** With `$rolesJson` (`{"owner": ["*"], "agent": ["tickets.*"]}`), or the standard owner/admin/agent table. */
    public function __construct(?string $rolesJson = null)
    {
        $json = $rolesJson ?? '';
        $out = Lib::ffi()->new('trust_access*');
        Lib::call('access_new', $json, strlen($json), \FFI::addr($out));
        $this->handle = $out;
    }

    public function __destruct()
    {
        Lib::ffi()->trust_access_free($this->handle);
    }

    /** Adds `$member` to `$tenant` with `$roles` (added to an existing member's). @param list<string> $roles */
    public function addMember(string $tenant, string $member, array $roles): void
    {
        [$rp, $rl, $n, $rb] = Lib::strings($roles);
        Lib::call('access_add_member', $this->handle, $tenant, strlen($tenant), $member, strlen($member), $rp, $rl, $n);
        unset($rb);
    }

    public function removeMember(string $tenant, string $member): void
    {
        Lib::call('access_remove_member', $this->handle, $tenant, strlen($tenant), $member, strlen($member));
    }

    public function revokeRole(string $tenant, string $member, string $role): void
    {
        Lib::call('access_revoke_role', $this->handle, $tenant, strlen($tenant), $member, strlen($member), $role, strlen($role));
    }

    /** Grants the member `$pattern` (`tickets.reply`, `tickets.*`, `*`) beyond their roles. */
    public function allow(string $tenant, string $member, string $pattern): void
    {
        Lib::call('access_allow', $this->handle, $tenant, strlen($tenant), $member, strlen($member), $pattern, strlen($pattern));
    }

    /** Denies the member `$pattern`, whatever their roles say. */
    public function deny(string $tenant, string $member, string $pattern): void
    {
        Lib::call('access_deny', $this->handle, $tenant, strlen($tenant), $member, strlen($member), $pattern, strlen($pattern));
    }

    /**
     * Throws TrustException (status 500, `ACCESS_CROSS_TENANT`, `ACCESS_NOT_A_MEMBER`,
     * `ACCESS_DENIED_OVERRIDE`, `ACCESS_NO_PERMISSION`) unless the member may do `$action` on
     * the resource (`$resourceTenant`, `$kind`, `$id`).
     */
    public function authorize(string $tenant, string $member, string $action, string $resourceTenant, string $kind, string $id): void
    {
        Lib::call('access_authorize', $this->handle, $tenant, strlen($tenant), $member, strlen($member), $action, strlen($action), $resourceTenant, strlen($resourceTenant), $kind, strlen($kind), $id, strlen($id));
    }

    /** As `authorize`, as a bool (refusals only; other errors still throw). */
    public function isAllowed(string $tenant, string $member, string $action, string $resourceTenant, string $kind, string $id): bool
    {
        try {
            $this->authorize($tenant, $member, $action, $resourceTenant, $kind, $id);
            return true;
        } catch (TrustException $e) {
            if ($e->status === 500) {
                return false;
            }
            throw $e;
        }
    }
}

/** GCRA rate limiting per (tenant, route): in this process, or shared by every worker through Redis. Thread-safe. */
final class RateLimiter
{
    private \FFI\CData $handle;

    /**
     * `$rate` requests per `$periodSeconds` sustained, bursts of `$burst` (0 = `$rate`); with
     * `$store` (`redis://…`) the budget is shared by every worker.
     */
    public function __construct(int $rate, float $periodSeconds = 1.0, int $burst = 0, ?string $store = null)
    {
        $store ??= '';
        $out = Lib::ffi()->new('trust_rate_limiter*');
        Lib::call('rate_limiter_new', $store, strlen($store), $rate, (int)round($periodSeconds * 1000), $burst, \FFI::addr($out));
        $this->handle = $out;
    }

    public function __destruct()
    {
        Lib::ffi()->trust_rate_limiter_free($this->handle);
    }

    /**
     * Spends `$cost` of (`$tenant`, `$route`)'s budget: 0.0 when admitted, else the seconds to
     * wait before the same request would pass (nothing spent; send it as `Retry-After`).
     */
    public function check(string $tenant, string $route, int $cost = 1): float
    {
        $wait = Lib::slot('uint64_t');
        Lib::call('rate_limiter_check', $this->handle, $tenant, strlen($tenant), $route, strlen($route), $cost, \FFI::addr($wait));
        return $wait->cdata / 1000.0;
    }
}

/** GDPR retention schedules: what is due for deletion at a time. */
final class Retention
{
    /**
     * The items due at `$at` (Unix seconds, 0 = now) under `$policy`
     * (`['rules' => [['category' => …, 'after' => …, 'days' => …, 'action' => 'delete']]]`),
     * earliest first; `$items` are `['id', 'category', 'event', 'at' (RFC 3339)]` arrays.
     *
     * @param array<string, mixed> $policy
     * @param list<array<string, string>> $items
     * @return list<array<string, string>>
     */
    public static function due(array $policy, array $items, int $at = 0): array
    {
        $p = json_encode($policy, JSON_THROW_ON_ERROR);
        $i = json_encode(array_values($items), JSON_THROW_ON_ERROR);
        $out = Lib::bytesSlot();
        Lib::call('gdpr_retention_due', $p, strlen($p), $i, strlen($i), $at, \FFI::addr($out));
        return Lib::json(Lib::take($out));
    }
}

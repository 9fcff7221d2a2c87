<?php
/*
 * The PHP package's test script (run by .ci/ffi): every class against the real library, with
 * published vectors, the exceptions and their codes, and interop with the `trust` CLI (a token
 * sealed here opens with `trust decrypt`, and one made by `trust encrypt --armor` opens here).
 *
 *   TRUST_LIB=target/release/libtrust.so TRUST_BIN=target/debug/trust php bindings/php/tests/run.php
 *
 * Exits 1 on the first failed check, naming it.
 */

declare(strict_types=1);

require __DIR__ . '/../src/Trust.php';

use Trust\AuditLog;
use Trust\Home;
use Trust\Password;
use Trust\Redact;
use Trust\Subjects;
use Trust\TrustException;
use Trust\VerificationException;
use Trust\Version;
use Trust\Webhook;

$checks = 0;

function check(bool $ok, string $what): void
{
    global $checks;
    $checks++;
    if (!$ok) {
        fwrite(STDERR, "FAILED: $what\n");
        exit(1);
    }
}

/** Runs `$body`, which must throw `$class` with `$code`. */
function throws(string $class, string $code, callable $body, string $what): TrustException
{
    try {
        $body();
    } catch (TrustException $e) {
        check($e instanceof $class, "$what: " . get_class($e) . " is a $class");
        check($e->trustCode === $code, "$what: trustCode {$e->trustCode} is $code");
        check($e->getMessage() !== '', "$what: has a message");
        return $e;
    }
    check(false, "$what: threw nothing");
    throw new LogicException('unreachable');
}

function tempdir(): string
{
    $dir = sys_get_temp_dir() . '/trust-php-' . bin2hex(random_bytes(6));
    mkdir($dir, 0700);
    register_shutdown_function(fn () => exec('rm -rf ' . escapeshellarg($dir)));
    return $dir;
}

/** Runs the CLI with `$args` and `$stdin`; returns [exit code, stdout]. */
function cli(array $args, string $stdin = ''): array
{
    $bin = getenv('TRUST_BIN') ?: __DIR__ . '/../../../target/debug/trust';
    $cmd = escapeshellarg($bin) . ' ' . implode(' ', array_map('escapeshellarg', $args));
    $proc = proc_open($cmd, [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['pipe', 'w']], $pipes);
    fwrite($pipes[0], $stdin);
    fclose($pipes[0]);
    $out = stream_get_contents($pipes[1]);
    $err = stream_get_contents($pipes[2]);
    fclose($pipes[1]);
    fclose($pipes[2]);
    $code = proc_close($proc);
    if ($code !== 0) {
        fwrite(STDERR, "trust " . implode(' ', $args) . " exited $code: $err\n");
    }
    return [$code, $out];
}

// --- loading: the ABI version is checked -------------------------------------------------------
check(Version::abi() === \Trust\Lib::ABI_VERSION, 'ABI version matches');
check(str_starts_with(Version::library(), 'trust-ffi/'), 'library version string');
// A library that cannot be loaded is a TrustException naming TRUST_LIB (in a child process:
// the library is loaded once per process).
$php = PHP_BINARY;
$probe = 'require ' . var_export(__DIR__ . '/../src/Trust.php', true) . ';'
    . 'try { \Trust\Version::abi(); echo "loaded"; } catch (\Trust\TrustException $e) { echo $e->trustCode; }';
$child = shell_exec('TRUST_LIB=/nonexistent/libtrust.so ' . escapeshellarg($php) . ' -r ' . escapeshellarg($probe));
check($child === 'LIBRARY_UNAVAILABLE', "a missing library is LIBRARY_UNAVAILABLE (got $child)");

// --- webhooks: the fixed entry point ----------------------------------------------------------
// Shopify's vector (secret "hush"; checked with shopify-api-js), see docs/webhooks.md.
$body = "{\"id\":1,\"email\":\"a@b.c\",\"note\":\"caf\u{e9}\"}";
$hmac = 'y6QjIArjFx3gEoeTLJw77ufusmczpg61ege7jjodI/E=';
$ok = Webhook::verify('shopify', $body, ['X-Shopify-Hmac-Sha256' => $hmac, 'X-Shopify-Webhook-Id' => 'b54557e4'], ['hush']);
check($ok['scheme'] === 'shopify' && $ok['secret_index'] === 0, 'shopify verifies');
check($ok['delivery_id'] === 'b54557e4', 'delivery id returned');
$ok = Webhook::verify('shopify', $body, [['x-shopify-hmac-sha256', $hmac]], ['new-secret', 'hush']);
check($ok['secret_index'] === 1, 'previous secret still accepted, index 1');
$e = throws(VerificationException::class, 'SIGNATURE_INVALID', fn () => Webhook::verify('shopify', $body . ' ', ['X-Shopify-Hmac-Sha256' => $hmac], 'hush'), 'tampered body');
check($e->status === 100, 'status 100');
throws(VerificationException::class, 'MALFORMED', fn () => Webhook::verify('shopify', $body, [], 'hush'), 'no signature header');
throws(TrustException::class, 'WEBHOOK_CONFIG', fn () => Webhook::verify('gitlab', $body, [], 'hush'), 'unknown scheme');
$e = throws(TrustException::class, 'WEBHOOK_CONFIG', fn () => Webhook::verify('gitlab', $body, [], 'hush'), 'unknown scheme again');
check(!($e instanceof VerificationException), 'configuration errors are not verification failures');
// GitHub's published vector; Standard Webhooks' with its timestamp window.
$gh = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
check(Webhook::verify('github', 'Hello, World!', ['X-Hub-Signature-256' => $gh], "It's a Secret to Everybody")['scheme'] === 'github', 'github verifies');
$std = ['webhook-id' => 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp' => '1614265330', 'webhook-signature' => 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='];
$secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
check(Webhook::verify('standard-webhooks', '{"test": 2432232314}', $std, $secret, ['now' => 1614265330])['timestamp'] === 1614265330, 'standard webhooks verifies');
throws(VerificationException::class, 'TIMESTAMP_STALE', fn () => Webhook::verify('standard-webhooks', '{"test": 2432232314}', $std, $secret, ['now' => 1614265330 + 301]), 'stale');
check(Webhook::verify('standard-webhooks', '{"test": 2432232314}', $std, $secret, ['now' => 1614265330 + 301, 'tolerance' => 600])['scheme'] === 'standard-webhooks', 'tolerance option');

// Signing (for tests), through trust_webhook_sign: Stripe's published vector (stripe-python
// generate_signature_header), a round trip for every header scheme, the OAuth query vector
// (shopify.dev "authorization code grant"), error paths, and PHP-signed → CLI-verified.
$stripeBody = '{"id":"evt_test_webhook","object":"event"}';
$h = Webhook::sign('stripe', $stripeBody, 'whsec_test_secret', ['now' => 1700000000]);
check($h === ['Stripe-Signature' => 't=1700000000,v1=d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990'], 'stripe sign vector');
$url = 'https://app.example.com/hooks?x=%2Fy';
foreach (['shopify', 'shopify-session-token', 'stripe', 'hubspot-v1', 'hubspot-v2', 'hubspot-v3', 'standard-webhooks', 'github', 'slack'] as $scheme) {
    $key = $scheme === 'standard-webhooks' ? $secret : 'hush-current';
    $opts = ['now' => 1700000000, 'url' => $url, 'method' => 'PUT', 'audience' => 'app-key', 'shop' => 's.myshopify.com', 'id' => 'delivery-1'];
    $signed = Webhook::sign($scheme, $stripeBody, $key, $opts);
    check(Webhook::verify($scheme, $stripeBody, $signed, $key, $opts)['scheme'] === $scheme, "$scheme: sign then verify");
    if ($scheme !== 'shopify-session-token') {
        throws(VerificationException::class, 'SIGNATURE_INVALID', fn () => Webhook::verify($scheme, $stripeBody . ' ', $signed, $key, $opts), "$scheme: changed body");
    }
}
$unsignedQ = 'code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173';
$signedQ = Webhook::signQuery('shopify-oauth', $unsignedQ, 'hush');
check($signedQ === $unsignedQ . '&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf', 'oauth query sign vector');
check(Webhook::verify('shopify-oauth', '', [], 'hush', ['query' => $signedQ, 'now' => 1337178173])['shop'] === 'some-shop.myshopify.com', 'signed query verifies');
throws(TrustException::class, 'WEBHOOK_CONFIG', fn () => Webhook::sign('hubspot-v3', '{}', 'k'), 'sign without url');
throws(TrustException::class, 'WEBHOOK_CONFIG', fn () => Webhook::sign('standard-webhooks', '{}', 'not-whsec'), 'sign with a non-whsec secret');
throws(TrustException::class, 'WEBHOOK_CONFIG', fn () => Webhook::sign('gitlab', '{}', 'k'), 'sign an unknown scheme');
throws(TrustException::class, 'WEBHOOK_CONFIG', fn () => Webhook::sign('shopify-oauth', '', 'k'), 'sign for a query scheme');
throws(TrustException::class, 'WEBHOOK_CONFIG', fn () => Webhook::signQuery('stripe', 'a=1', 'k'), 'signQuery for a header scheme');
throws(VerificationException::class, 'MALFORMED', fn () => Webhook::signQuery('shopify-oauth', 'a=1&hmac=00', 'k'), 'query already signed');
$gh = Webhook::sign('github', $stripeBody, 'hush-current');
putenv('TRUST_PHP_SIGN_SECRET=hush-current');
[$code, $out] = cli(['--json', 'webhook', 'verify', '--provider', 'github', '--secret-env', 'TRUST_PHP_SIGN_SECRET', '-H', 'X-Hub-Signature-256: ' . $gh['X-Hub-Signature-256']], $stripeBody);
check($code === 0 && json_decode($out, true)['data']['verdict'] === 'valid', 'PHP-signed delivery verifies with the CLI');

// Replay: a delivery id is admitted once (in-process; and through Redis when configured).
$guard = new \Trust\ReplayGuard();
check($guard->firstTime('shopify', 'b54557e4') && !$guard->firstTime('shopify', 'b54557e4'), 'replay refused in-process');
throws(VerificationException::class, 'MALFORMED', fn () => $guard->firstTime('shopify', ''), 'empty delivery id');
$redis = getenv('TRUST_TEST_REDIS_URL');
if ($redis) {
    $id = 'php-' . bin2hex(random_bytes(8));
    [$w1, $w2] = [new \Trust\ReplayGuard($redis, 300), new \Trust\ReplayGuard($redis, 300)];
    check($w1->firstTime('shopify', $id) && !$w2->firstTime('shopify', $id), 'replay refused across workers (Redis)');
} else {
    echo "replay through Redis skipped: TRUST_TEST_REDIS_URL unset\n";
}
throws(TrustException::class, 'STORE_URL_UNSUPPORTED', fn () => new \Trust\ReplayGuard('memcached://cache/'), 'unsupported replay store');

// --- passwords ---------------------------------------------------------------------------------
$phc = Password::hash('correct horse battery');
check(str_starts_with($phc, '$argon2id$'), 'argon2id PHC');
check(Password::verify($phc, 'correct horse battery'), 'password matches');
check(!Password::verify($phc, 'correct horse batterY'), 'wrong password');
// crypt_blowfish's test vector (Openwall): bcrypt verifies and is upgraded.
[$match, $rehash] = Password::verifyAndUpgrade('$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW', 'U*U');
check($match && is_string($rehash) && Password::verify($rehash, 'U*U'), 'bcrypt upgraded to argon2id');
throws(TrustException::class, 'PASSWORD_TOO_SHORT', fn () => Password::hash('short'), 'short password');

// --- redaction ---------------------------------------------------------------------------------
$red = Redact::text('token=shpat_0123456789abcdef0123456789abcdef for card 4111 1111 1111 1111');
check(!str_contains($red, 'shpat_0123456789abcdef') && !str_contains($red, '4111 1111 1111 1111'), "redacted: $red");

// --- homes, keyrings, seal/open, tokens --------------------------------------------------------
$tmp = tempdir();
$homeDir = "$tmp/home";
$key = "$tmp/root.key";
throws(TrustException::class, 'EMPTY_PATH', fn () => Home::init('', $key), 'empty path');
throws(TrustException::class, 'STORE_URL_UNSUPPORTED', fn () => Home::open('mysql://u:Secret-Pw-9@db/x'), 'unsupported scheme');
$home = Home::init($homeDir, $key);
$home->createKeyring('orders');
$home->createKeyring('tokens', 'xchacha20-poly1305');
check($home->keyrings() === ['orders', 'tokens'], 'keyrings listed');
check($home->rotate('orders') === 2, 'rotated to version 2');
check($home->keyringInfo('orders')['primary'] === 2, 'info shows the primary');
$ctx = ['tenant' => 'acme', 'record' => 'order-1042'];
$blob = $home->seal('orders', "shpat_\x00binary", $ctx);
check($home->unseal($blob, $ctx) === "shpat_\x00binary", 'binary round trip with a NUL byte');
throws(VerificationException::class, 'CONTEXT_MISMATCH', fn () => $home->unseal($blob, ['tenant' => 'acme', 'record' => 'order-9']), 'other context');
$token = $home->sealToken('orders', 'shpat_php', ['tenant' => 'acme']);
check(str_starts_with($token, 'tle1.'), 'tle1 token');
check($home->openToken($token, ['tenant' => 'acme']) === 'shpat_php', 'token round trip');
throws(TrustException::class, 'UNKNOWN_KEYRING', fn () => $home->seal('nope', 'x'), 'unknown keyring');
// Key lifecycle: a staged version promoted, an old one retired, re-enabled, retired, destroyed.
check($home->rotate('tokens', false) === 2, 'staged rotation');
$home->promote('tokens', 2);
$home->retire('tokens', 1);
throws(TrustException::class, 'INVALID_TRANSITION', fn () => $home->retire('tokens', 2), 'the primary cannot be retired');
$home->enable('tokens', 1);
$home->retire('tokens', 1);
check($home->destroy('tokens', 1) === true, 'an unused disabled version is destroyed');
$again = Home::open($homeDir);
check($again->openToken($token, ['tenant' => 'acme']) === 'shpat_php', 'reopened home opens the token');
$again->close();
throws(TrustException::class, 'NULL_ARGUMENT', fn () => $again->keyrings(), 'closed home');

// Scoped access tokens, and the CLI verifies one PHP issued.
$home->createKeyring('session-tokens');
$access = $home->issueAccessToken('session-tokens', 'acme', ['chat:write'], 900, 'chat-widget');
check($home->verifyAccessToken($access, 'acme', 'chat:write', 'chat-widget')['tenant'] === 'acme', 'access token verifies');
throws(VerificationException::class, 'TOKEN_WRONG_TENANT', fn () => $home->verifyAccessToken($access, 'globex', 'chat:write', 'chat-widget'), 'other tenant');
[$code, ] = cli(['--home', $homeDir, 'token', 'verify', '--tenant', 'acme', '--scope', 'chat:write', '--audience', 'chat-widget'], $access);
check($code === 0, 'the CLI verifies an access token issued from PHP');

// --- interop with the CLI ----------------------------------------------------------------------
[$code, $plain] = cli(['--home', $homeDir, 'decrypt', '--context', 'tenant=acme'], $token);
check($code === 0 && $plain === 'shpat_php', 'a token sealed from PHP opens with the CLI');
[$code, $cliToken] = cli(['--home', $homeDir, 'encrypt', '--key', 'orders', '--context', 'tenant=acme', '--armor'], 'from-the-cli');
check($code === 0, 'the CLI seals a token');
check($home->openToken(trim($cliToken), ['tenant' => 'acme']) === 'from-the-cli', 'a token sealed by the CLI opens in PHP');

// --- streaming file encryption, both ways with the CLI --------------------------------------
$big = random_bytes(70000);
file_put_contents("$tmp/big.bin", $big);
check($home->encryptFile('orders', "$tmp/big.bin", "$tmp/big.enc", ['tenant' => 'acme']) === 70000, 'file encrypted');
check($home->decryptFile("$tmp/big.enc", "$tmp/big.out", ['tenant' => 'acme']) === 70000 && file_get_contents("$tmp/big.out") === $big, 'file round trip');
[$code, ] = cli(['--home', $homeDir, 'decrypt', '--context', 'tenant=acme', '--in', "$tmp/big.enc", '--out', "$tmp/big.cli"]);
check($code === 0 && file_get_contents("$tmp/big.cli") === $big, 'the CLI decrypts a file PHP encrypted');
[$code, ] = cli(['--home', $homeDir, 'encrypt', '--key', 'orders', '--context', 'tenant=acme', '--in', "$tmp/big.bin", '--out', "$tmp/big.cli.enc"]);
check($code === 0 && $home->decryptFile("$tmp/big.cli.enc", "$tmp/big.out2", ['tenant' => 'acme']) === 70000 && file_get_contents("$tmp/big.out2") === $big, 'PHP decrypts a file the CLI encrypted');
file_put_contents("$tmp/big.out", 'old');
file_put_contents("$tmp/cut.enc", substr(file_get_contents("$tmp/big.enc"), 0, -50));
throws(VerificationException::class, 'AUTHENTICATION_FAILED', fn () => $home->decryptFile("$tmp/cut.enc", "$tmp/big.out", ['tenant' => 'acme']), 'truncated file');
check(file_get_contents("$tmp/big.out") === 'old', 'a refused decryption leaves the destination as it was');
throws(TrustException::class, 'EMPTY_PATH', fn () => $home->encryptFile('orders', '', "$tmp/x.enc"), 'empty path');

// --- access control and rate limits ----------------------------------------------------------
$acl = new \Trust\AccessControl();
$acl->addMember('acme', 'alice', ['agent']);
$acl->authorize('acme', 'alice', 'tickets.reply', 'acme', 'ticket', 'T-1');
check($acl->isAllowed('acme', 'alice', 'customers.read', 'acme', 'customer', 'c-1'), 'agent reads customers');
check(!$acl->isAllowed('acme', 'alice', 'billing.update', 'acme', 'invoice', 'i-1'), 'agent may not touch billing');
$e = throws(TrustException::class, 'ACCESS_CROSS_TENANT', fn () => $acl->authorize('acme', 'alice', 'tickets.reply', 'globex', 'ticket', 'T-1'), 'cross-tenant');
check($e->status === 500, 'access refusals are status 500');
$acl->deny('acme', 'alice', 'tickets.delete');
throws(TrustException::class, 'ACCESS_DENIED_OVERRIDE', fn () => $acl->authorize('acme', 'alice', 'tickets.delete', 'acme', 'ticket', 'T-1'), 'deny override');
throws(TrustException::class, 'ACCESS_UNKNOWN_ROLE', fn () => $acl->addMember('acme', 'bob', ['superuser']), 'unknown role');
throws(TrustException::class, 'ACCESS_INVALID_ROLES', fn () => new \Trust\AccessControl('["owner"]'), 'bad role table');
$custom = new \Trust\AccessControl('{"support": ["tickets.read"]}');
$custom->addMember('acme', 'carol', ['support']);
check($custom->isAllowed('acme', 'carol', 'tickets.read', 'acme', 'ticket', 'T-1') && !$custom->isAllowed('acme', 'carol', 'tickets.reply', 'acme', 'ticket', 'T-1'), 'custom role table');
$limiter = new \Trust\RateLimiter(2, 60.0, 3);
check($limiter->check('acme', 'POST /webhooks') === 0.0 && $limiter->check('acme', 'POST /webhooks') === 0.0 && $limiter->check('acme', 'POST /webhooks') === 0.0, 'burst of 3 admitted');
$wait = $limiter->check('acme', 'POST /webhooks');
check($wait > 0.0 && $wait <= 30.0, "the 4th waits ($wait s)");
check($limiter->check('globex', 'POST /webhooks') === 0.0, 'another tenant has its own budget');
throws(TrustException::class, 'RATE_COST_EXCEEDS_BURST', fn () => $limiter->check('acme', 'GET /orders', 4), 'cost above the burst');
throws(TrustException::class, 'RATE_INVALID_QUOTA', fn () => new \Trust\RateLimiter(0), 'zero rate');
throws(TrustException::class, 'STORE_URL_UNSUPPORTED', fn () => new \Trust\RateLimiter(1, 1.0, 0, 'postgres://u:Secret-Pw-7@127.0.0.1:1/x'), 'rate limits are not kept in PostgreSQL');
if ($redis) {
    $tenant = 'php-' . bin2hex(random_bytes(6));
    [$r1, $r2] = [new \Trust\RateLimiter(1, 60.0, 1, $redis), new \Trust\RateLimiter(1, 60.0, 1, $redis)];
    check($r1->check($tenant, 'POST /login') === 0.0 && $r2->check($tenant, 'POST /login') > 0.0, 'one budget across workers (Redis)');
} else {
    echo "rate limits through Redis skipped: TRUST_TEST_REDIS_URL unset\n";
}

// --- audit log ---------------------------------------------------------------------------------
$logDir = "$tmp/audit";
$vkey = AuditLog::init($logDir, 'example.com/php-test');
$log = AuditLog::open($logDir);
check($log->append('user.login', 'alice', 'acct-1', '{"ip":"192.0.2.1"}') === 0, 'first append is index 0');
check($log->append('key.rotate', 'ops', '', '', ['keyring' => 'orders', 'version' => 2]) === 1, 'append with attributes');
$receipt = $log->prove(1);
$proved = AuditLog::verifyReceipt($receipt, $vkey);
check($proved['index'] === 1 && $proved['event'] === 'key.rotate', 'receipt verifies without the log');
throws(VerificationException::class, 'INDEX_MISMATCH', fn () => AuditLog::verifyReceipt(str_replace("\nindex 1\n", "\nindex 0\n", $receipt), $vkey), 'altered receipt');
check($log->size() === 2 && strlen($log->root()) === 32, 'size and root');
$cpOld = $log->checkpoint();
check(str_contains($cpOld, 'example.com/php-test'), 'checkpoint names the origin');
$log->append('key.retire', 'ops');
$cpNew = $log->checkpoint();
$consistency = $log->consistencyProof($cpOld, $cpNew);
$sizes = AuditLog::verifyConsistency($cpOld, $cpNew, $vkey, $consistency);
check($sizes['old_size'] === 2 && $sizes['new_size'] === 3, 'the newer checkpoint extends the older: ' . json_encode($sizes));
throws(VerificationException::class, 'FORK', fn () => AuditLog::verifyConsistency($cpOld, $cpNew, $vkey, ''), 'consistency without its proof');
throws(TrustException::class, 'EMPTY_PATH', fn () => AuditLog::open(''), 'empty log path');
throws(TrustException::class, 'STORE_URL_UNSUPPORTED', fn () => AuditLog::open('redis://:Secret-Pw-8@127.0.0.1:6379/'), 'a Redis URL holds no audit log');
// A log in PostgreSQL: two workers append at once, and it verifies through its URL.
$pg = getenv('TRUST_TEST_POSTGRES_URL');
if ($pg) {
    $pgLog = $pg . (str_contains($pg, '?') ? '&' : '?') . 'log=php-' . bin2hex(random_bytes(6));
    $pgKey = AuditLog::init($pgLog, 'example.com/php-pg');
    [$w1, $w2] = [AuditLog::open($pgLog), AuditLog::open($pgLog)];
    $i1 = $w1->append('order.sync', 'worker-1', 'acct-1');
    $i2 = $w2->append('order.sync', 'worker-2', 'acct-2');
    check([$i1, $i2] === [0, 1], 'two workers append to one PostgreSQL log');
    check(str_contains($w2->checkpoint(), "example.com/php-pg\n2\n"), 'checkpoint of the PostgreSQL log');
    check(AuditLog::verifyReceipt($w1->prove(1), $pgKey)['index'] === 1, 'receipt from the PostgreSQL log');
    check(AuditLog::verify($pgLog, $pgKey)['entries'] === 2, 'the PostgreSQL log verifies through its URL');
    check(AuditLog::export($pgLog, "$tmp/pg-export")['entries'] === 2 && AuditLog::verify("$tmp/pg-export", $pgKey)['entries'] === 2, 'a key-free export of the PostgreSQL log verifies offline');
    throws(VerificationException::class, 'BAD_SIGNATURE', fn () => AuditLog::verify($pgLog, $vkey), "another log's key");
    $w1->close();
    $w2->close();
} elseif (getenv('CI') === 'true') {
    check(false, 'CI=true but TRUST_TEST_POSTGRES_URL is unset');
} else {
    echo "audit log in PostgreSQL skipped: TRUST_TEST_POSTGRES_URL unset\n";
}

// --- vault -------------------------------------------------------------------------------------
$vault = $home->vault(null, $log);
check($vault->put('sync-worker', 'acme/shopify', 'shpat_vault', ['readers' => ['sync-worker', 'billing']]) === 1, 'vault put');
$got = $vault->get('billing', 'acme/shopify', 'nightly sync');
check($got['value'] === 'shpat_vault' && $got['version'] === 1 && $got['refresh_token'] === null, 'vault get by a reader');
$e = throws(TrustException::class, 'SECRET_NOT_READER', fn () => $vault->get('intern', 'acme/shopify', 'curious'), 'not a reader');
check($e->status === 500, 'refused is status 500');
check($vault->rotate('sync-worker', 'acme/shopify', 'shpat_vault_2') === 2, 'vault rotate');
$listed = $vault->list('acme');
check($listed[0]['name'] === 'acme/shopify' && $listed[0]['versions'] === [1, 2], 'vault list');
check(!str_contains(json_encode($listed), 'shpat_'), 'no values in the listing');
$now = time();
$vault->put('w', 'acme/hubspot', 'access-1', ['kind' => 'oauth', 'expires' => $now + 60, 'refresh_token' => 'refresh-1']);
check($vault->needsRefresh('acme/hubspot', 300), 'needs refresh within the margin');
$read = $vault->get('w', 'acme/hubspot', 'refresh');
$a = $vault->refresh('w', 'acme/hubspot', 'refresh', 300, $read['version'], 'access-A', 'refresh-A', $now + 3600);
$b = $vault->refresh('w', 'acme/hubspot', 'refresh', 300, $read['version'], 'access-B', 'refresh-B', $now + 3600);
check($a['outcome'] === 'refreshed' && $b['outcome'] === 'took-winners' && $b['value'] === 'access-A', 'one refresh wins, the other takes its token');
$vault->delete('sync-worker', 'acme/shopify');
throws(TrustException::class, 'SECRET_DELETED', fn () => $vault->get('sync-worker', 'acme/shopify', 'after'), 'deleted');
// The CLI reads what PHP stored.
[$code, $fromCli] = cli(['--home', $homeDir, '--actor', 'w', 'secrets', 'get', 'acme/hubspot', '--purpose', 'interop']);
check($code === 0 && $fromCli === 'access-A', 'the CLI reads a secret PHP stored');

// --- GDPR subjects: one erasure makes a subject's data unreadable ----------------------------
$subjects = $home->subjects("$tmp/signing.p8");
$sealedAlice = $subjects->seal('orders', 'alice@example.com', "alice's address", ['tenant' => 'acme']);
check($subjects->unseal($sealedAlice, ['tenant' => 'acme']) === "alice's address", 'subject round trip');
$receiptJson = $subjects->erase('orders', 'alice@example.com', 'req-1', 30, $log);
check(str_contains($receiptJson, 'signature'), 'signed erasure receipt');
$e = throws(TrustException::class, 'SUBJECT_ERASED', fn () => $home->subjects("$tmp/signing.p8")->unseal($sealedAlice, ['tenant' => 'acme']), 'erased subject');
check($e->status === 400, 'erased is KEY_UNAVAILABLE');

// --- GDPR export bundles (verified by the CLI) and the request register ---------------------
$bundle = "$tmp/jane.export.jsonl";
$manifest = $subjects->export('orders', '191167', [['orders', ['id' => 1042]], ['orders', ['id' => 1043]], ['profile', ['email' => 'jane@example.com']]], $bundle, 'T-1');
check($manifest['format'] === 'trust-export/v1' && $manifest['parts'][0]['records'] === 2, 'export manifest');
check(Subjects::verifyExport($bundle, $subjects->publicKey())['subject'] === $manifest['subject'], 'export verifies');
[$code, ] = cli(['gdpr', 'verify-export', $bundle, '--public-key', bin2hex($subjects->publicKey())]);
check($code === 0, 'the CLI verifies an export bundle written from PHP');
throws(VerificationException::class, 'BAD_SIGNATURE', fn () => Subjects::verifyExport($bundle, str_repeat("\x01", 32)), 'foreign signer');
throws(TrustException::class, 'BAD_NAME', fn () => $subjects->export('orders', '191167', [['Not A Category', 1]], "$tmp/never.jsonl"), 'bad category');
check(!file_exists("$tmp/never.jsonl"), 'a refused export leaves no file');
$jan1 = 1767225600;
$req = $home->addGdprRequest($subjects, 'T-1', 'erasure', 'orders', '191167', $jan1, 'eu-gdpr', false, $log);
check($req['due'] === '2026-02-01' && !str_contains(json_encode($req), '191167'), 'request recorded with its deadline, by pseudonym');
throws(TrustException::class, 'DUPLICATE_REQUEST', fn () => $home->addGdprRequest($subjects, 'T-1', 'erasure', 'orders', '191167'), 'duplicate request');
check($home->gdprRequests($jan1 + 40 * 86400, true)[0]['id'] === 'T-1', 'overdue request listed');
check($home->updateGdprRequest('T-1', 'extend', 2, 'records in three systems', $jan1 + 86400, $log)['due'] === '2026-04-01', 'extended by two months');
$home->updateGdprRequest('T-1', 'start');
check($home->updateGdprRequest('T-1', 'complete')['status'] === 'completed', 'completed');
throws(TrustException::class, 'INVALID_TRANSITION', fn () => $home->updateGdprRequest('T-1', 'start'), 'no start after completion');
throws(TrustException::class, 'UNKNOWN_REQUEST', fn () => $home->updateGdprRequest('T-404', 'start'), 'unknown request');
[$code, $listed] = cli(['--home', $homeDir, '--json', 'gdpr', 'requests', 'list']);
check($code === 0 && str_contains($listed, '"T-1"'), 'the CLI lists a request recorded from PHP');

$policy = ['rules' => [['category' => 'configuration', 'after' => 'account-closed', 'days' => 30, 'action' => 'delete']]];
$due = \Trust\Retention::due($policy, [['id' => 'shop-1', 'category' => 'configuration', 'event' => 'account-closed', 'at' => '2026-01-01T00:00:00Z'], ['id' => 'shop-2', 'category' => 'configuration', 'event' => 'account-closed', 'at' => '2026-02-15T00:00:00Z']], 1772323200);
check(count($due) === 1 && $due[0]['id'] === 'shop-1', 'retention: one item due');
throws(TrustException::class, 'MALFORMED', fn () => \Trust\Retention::due(['rules' => 'none'], []), 'malformed retention policy');

// --- rewrap: moved to the new Primary, confirmed, recorded; then destroyed without a reason --
$home->createKeyring('rewrap');
$rwCtx = ['tenant' => 'acme'];
$oldBlob = $home->seal('rewrap', 'blob-1', $rwCtx);
$oldToken = $home->sealToken('rewrap', 'token-1', $rwCtx);
$home->rotate('rewrap');
$job = $home->rewrapper($subjects);
$newBlob = $job->blob($oldBlob);
$newToken = $job->token($oldToken, $rwCtx);
check(is_string($newBlob) && $home->unseal($newBlob, $rwCtx) === 'blob-1', 'rewrapped blob opens');
check(is_string($newToken) && $home->openToken($newToken, $rwCtx) === 'token-1', 'rewrapped token opens');
check($job->blob($newBlob) === null, 'a current blob needs nothing stored');
throws(VerificationException::class, 'AUTHENTICATION_FAILED', fn () => $job->token($oldToken, ['tenant' => 'globex']), 'token with the wrong context');
$job->stored($newBlob);
throws(TrustException::class, 'REWRAP_NOT_ISSUED', fn () => $job->stored($newBlob), 'confirmed twice');
$home->retire('rewrap', 1);
throws(TrustException::class, 'KEY_STILL_IN_USE', fn () => $home->destroy('rewrap', 1), 'token not moved yet');
$home->enable('rewrap', 1);
$job->stored($newToken);
check($job->finish() === 2, 'census recorded');
$home->releaseUnused();
$home->retire('rewrap', 1);
check($home->destroy('rewrap', 1) === true, 'old version destroyed without a forced reason');
unset($job);

// --- MFA: RFC 6238 appendix B ------------------------------------------------------------------
$mfa = $home->mfa('Acme Sync', $log);
$uri = $mfa->enroll('alice@example.com', '', '12345678901234567890', 'sha1', 8);
check(str_starts_with($uri, 'otpauth://totp/') && str_contains($uri, 'issuer=Acme'), 'otpauth URI');
check($mfa->verify('alice@example.com', '94287082', '', 59), 'RFC 6238 T=59 accepted');
check(!$mfa->verify('alice@example.com', '94287082', '', 59), 'the same code is refused the second time');
check($mfa->verify('alice@example.com', '07081804', '', 1111111109), 'RFC 6238 T=1111111109');
$codes = $mfa->recoveryCodes('alice@example.com');
check(count($codes) >= 8, 'recovery codes');
check($mfa->redeemRecoveryCode('alice@example.com', $codes[0]), 'recovery code accepted');
check(!$mfa->redeemRecoveryCode('alice@example.com', $codes[0]), 'recovery code used once');
check($mfa->remove('alice@example.com'), 'removed');
throws(TrustException::class, 'MFA_NOT_ENROLLED', fn () => $mfa->recoveryCodes('alice@example.com'), 'not enrolled');

// The audit log recorded the vault's reads and refusals and the MFA events, and verifies.
unset($vault, $mfa);
$log->close();
$report = AuditLog::verify($logDir, $vkey);
$exported = AuditLog::export($logDir, "$tmp/audit-export");
check($exported['entries'] === $report['entries'] && AuditLog::verify("$tmp/audit-export", $vkey)['entries'] === $report['entries'], 'a key-free export verifies');
throws(TrustException::class, 'EMPTY_PATH', fn () => AuditLog::export($logDir, ''), 'export to an empty path');
check($report['entries'] > 10, 'the log holds the vault and MFA events: ' . json_encode($report));
check(AuditLog::verify($logDir, $vkey)['entries'] === $report['entries'], 'verify is repeatable');

echo "php: ok ($checks checks)\n";

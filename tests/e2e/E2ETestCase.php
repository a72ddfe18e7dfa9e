<?php
/**
 * Base for the end-to-end tests: real HTTP through nginx + php-fpm to the harness's WordPress,
 * the CRM emulator as the CRM, and assertions on the database rows the site wrote.
 *
 * Needs scripts/site/up.sh and tests/emulator/emulator.sh start (the Makefile does both).
 */

declare(strict_types=1);

namespace CrmHook\Tests\E2E;

use mysqli;
use PHPUnit\Framework\TestCase;

abstract class E2ETestCase extends TestCase
{
    protected static string $site;
    protected static string $emulator;
    protected static string $runDir;
    protected static ?mysqli $db = null;
    protected static string $key = '';

    /** @var array<string, array<string, string>> The emulator's credentials per CRM, from its seed. */
    protected static array $credentials = [];

    /** Runner slots waited for between tests: the default 3, and the 4 some tests configure. */
    private const RUNNER_SLOTS = 5;

    /** @var list<string> Cookie jars of this test's logged-in sessions. */
    private array $cookieJars = [];

    /** The incumbent's meta slugs. */
    public const META = [
        'activecampaign' => 'activecampaign', 'convertkit' => 'convertkit', 'kit' => 'kit',
        'fluentcrm' => 'fluentcrm-rest', 'funnelkit' => 'autonami', 'keap' => 'infusionsoft',
    ];

    public static function setUpBeforeClass(): void
    {
        self::$runDir   = getenv('RUN_DIR') ?: dirname(__DIR__, 2) . '/.run';
        self::$site     = getenv('SITE_URL') ?: 'http://127.0.0.1:8088';
        self::$emulator = getenv('EMULATOR_URL') ?: 'http://127.0.0.1:8790';
        self::$credentials = json_decode((string) file_get_contents(dirname(__DIR__) . '/fixtures/crm/seed.json'), true)['credentials'];
        if (self::$db === null) {
            self::$db = self::connectDb();
        }
    }

    /**
     * The harness's MariaDB as its superuser: the account mariadb-install-db made for whoever runs
     * the harness (root, or a normal user), reached by unix_socket authentication on our socket.
     */
    protected static function connectDb(): mysqli
    {
        $user = posix_getpwuid(posix_geteuid())['name'] ?? 'root';
        $db   = new mysqli('localhost', $user, '', 'wordpress', 0, self::$runDir . '/mariadb/mariadbd.sock');
        $db->set_charset('utf8mb4');
        return $db;
    }

    protected function setUp(): void
    {
        // Runners of an earlier test finish first: each test starts with an idle queue.
        $this->runnersIdle(60);
        $this->resetSite();
        $this->emulatorPost('/_emulator/reset');
    }

    // ---- the site ------------------------------------------------------------------------

    /** Removes every user but the admin, the index, the queue, the webhook log and rate-limit counters. */
    protected function resetSite(): void
    {
        $db = self::$db;
        $db->query('DELETE FROM wp_usermeta WHERE user_id <> 1');
        $db->query('DELETE FROM wp_users WHERE ID <> 1');
        $db->query("DELETE FROM wp_usermeta WHERE user_id = 1 AND (meta_key LIKE '%\\_contact\\_id' OR meta_key LIKE '%\\_tags')");
        $db->query('DELETE FROM wp_crmhook_contacts');
        $db->query('DELETE FROM wp_crmhook_queue');
        $db->query('DELETE FROM wp_crmhook_budget');
        $db->query('DELETE FROM wp_crmhook_throttle');
        $db->query('DELETE FROM wp_crmhook_log');
        $db->query("DELETE FROM wp_options WHERE option_name LIKE '\\_transient\\_%crmhook%' ");
        foreach (glob(self::$runDir . '/mail/*.eml') ?: [] as $mail) {
            unlink($mail);
        }
    }

    /**
     * Points the plugin at the emulator for a CRM, with extra settings.
     *
     * @param array<string, mixed> $extra
     */
    protected function configure(string $crm, array $extra = []): void
    {
        $settings = $this->option('crmhook_settings') ?: [];
        $settings = array_merge(
            $settings,
            ['crm' => $crm, 'api_url' => self::$emulator . "/$crm", 'api_key' => '', 'api_secret' => '', 'username' => '', 'password' => '',
             'field_map' => [], 'allowed_roles' => [], 'return_password_field' => '', 'send_welcome_email' => false, 'async' => false,
             'queue_mode' => 'auto', 'queue_max_attempts' => 8, 'queue_backoff' => 5, 'queue_runners' => 3, 'fast_lane' => false,
             'username_format' => 'email', 'ck_update_tag' => '', 'ck_import_tag' => '', 'update_existing_passwords' => false],
            self::$credentials[$crm],
            $extra
        );
        $this->setOption('crmhook_settings', $settings);
        self::$key = (string) $settings['access_key'];
    }

    /** @return mixed */
    protected function option(string $name)
    {
        $stmt = self::$db->prepare('SELECT option_value FROM wp_options WHERE option_name = ?');
        $stmt->bind_param('s', $name);
        $stmt->execute();
        $row = $stmt->get_result()->fetch_row();
        return $row ? unserialize($row[0]) : null;
    }

    /** @param mixed $value */
    protected function setOption(string $name, $value): void
    {
        $serialized = serialize($value);
        $stmt = self::$db->prepare("INSERT INTO wp_options (option_name, option_value, autoload) VALUES (?, ?, 'yes') ON DUPLICATE KEY UPDATE option_value = VALUES(option_value)");
        $stmt->bind_param('ss', $name, $serialized);
        $stmt->execute();
    }

    /**
     * Sends a request to the site.
     *
     * @param array<string, string> $headers
     * @return array{status: int, body: string, json: ?array, headers: array<string, string>}
     */
    protected function request(string $method, string $query, ?string $body = null, ?string $contentType = null, array $headers = []): array
    {
        $curl = curl_init(self::$site . '/?' . $query);
        $lines = [];
        foreach ($headers as $name => $value) {
            $lines[] = "$name: $value";
        }
        if ($contentType !== null) {
            $lines[] = "Content-Type: $contentType";
        }
        $received = [];
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST  => $method,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER     => $lines,
            CURLOPT_TIMEOUT        => 60,
            CURLOPT_HEADERFUNCTION => self::headerCollector($received),
        ]);
        if ($body !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, $body);
        }
        $answer = (string) curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        $json = json_decode($answer, true);
        return ['status' => $status, 'body' => $answer, 'json' => is_array($json) ? $json : null, 'headers' => $received];
    }

    /**
     * A CURLOPT_HEADERFUNCTION that gathers an answer's headers into `$received`, names lowercased
     * (a repeated header keeps its last value).
     *
     * @param array<string, string> $received
     */
    private static function headerCollector(array &$received): callable
    {
        return static function ($c, string $line) use (&$received): int {
            if (str_contains($line, ':')) {
                [$k, $v] = explode(':', $line, 2);
                $received[strtolower(trim($k))] = trim($v);
            }
            return strlen($line);
        };
    }

    /** A GET with the URL contract. */
    protected function get(string $action, array $params = []): array
    {
        return $this->request('GET', http_build_query(['wpf_action' => $action, 'access_key' => self::$key] + $params));
    }

    /**
     * Sends requests to the site all at once.
     *
     * @param list<array{query: string, body?: string, type?: string, path?: string}> $requests
     * @return list<array{status: int, json: ?array, body: string}> In the order given.
     */
    protected function parallel(array $requests): array
    {
        $multi = curl_multi_init();
        $handles = [];
        foreach ($requests as $r) {
            $h = curl_init(self::$site . ($r['path'] ?? '/') . '?' . $r['query']);
            curl_setopt_array($h, [CURLOPT_RETURNTRANSFER => true, CURLOPT_TIMEOUT => 120]);
            if (isset($r['body'])) {
                curl_setopt_array($h, [
                    CURLOPT_POST => true, CURLOPT_POSTFIELDS => $r['body'],
                    CURLOPT_HTTPHEADER => ['Content-Type: ' . ($r['type'] ?? 'application/x-www-form-urlencoded')],
                ]);
            }
            curl_multi_add_handle($multi, $h);
            $handles[] = $h;
        }
        do {
            $status = curl_multi_exec($multi, $running);
            if ($running) {
                curl_multi_select($multi, 1.0);
            }
        } while ($running && $status === CURLM_OK);
        $answers = [];
        foreach ($handles as $h) {
            $body = (string) curl_multi_getcontent($h);
            $json = json_decode($body, true);
            $answers[] = ['status' => (int) curl_getinfo($h, CURLINFO_RESPONSE_CODE), 'json' => is_array($json) ? $json : null, 'body' => $body];
            curl_multi_remove_handle($multi, $h);
            curl_close($h);
        }
        curl_multi_close($multi);
        return $answers;
    }

    /**
     * Runs a CRM call that must fail with CrmHook\CrmException.
     *
     * @return array{int, string} Its code and message.
     */
    protected function failing(callable $call): array
    {
        try {
            $call();
        } catch (\CrmHook\CrmException $e) {
            return [$e->getCode(), $e->getMessage()];
        }
        $this->fail('no CrmHook\CrmException');
    }

    // ---- the emulator --------------------------------------------------------------------

    /** @return array<mixed> */
    protected function emulatorPost(string $path, array $body = []): array
    {
        return $this->emulatorCall('POST', $path, $body);
    }

    /** @return array<mixed> */
    protected function emulatorCall(string $method, string $path, ?array $body = null): array
    {
        $context = stream_context_create(['http' => [
            'method' => $method, 'header' => "Content-Type: application/json\r\n",
            'content' => $body === null ? '' : json_encode($body), 'ignore_errors' => true, 'timeout' => 60,
        ]]);
        $answer = file_get_contents(self::$emulator . $path, false, $context);
        $json = json_decode((string) $answer, true);
        $this->assertIsArray($json, "emulator $method $path answered: " . substr((string) $answer, 0, 300));
        return $json;
    }

    /**
     * Has the emulator send a CRM's webhook, in that CRM's wire format, to the site.
     *
     * @return array{status: int, body: string, json: ?array}
     */
    protected function sendWebhook(string $crm, string $action, string $contact, array $options = []): array
    {
        $sent = $this->emulatorPost('/_emulator/send', ['crm' => $crm, 'action' => $action, 'url' => self::$site . '/', 'key' => self::$key, 'contact' => $contact] + $options);
        $json = json_decode((string) ($sent['body'] ?? ''), true);
        return ['status' => (int) ($sent['status'] ?? 0), 'body' => (string) ($sent['body'] ?? ''), 'json' => is_array($json) ? $json : null];
    }

    /** @return list<array<string, mixed>> The calls the emulator received for a CRM. */
    protected function crmCalls(string $crm): array
    {
        return $this->emulatorCall('GET', '/_emulator/calls?crm=' . urlencode($crm));
    }

    /** Makes the emulator fail on request. */
    protected function fault(array $fault): void
    {
        $this->emulatorPost('/_emulator/faults', $fault);
    }

    // ---- the database --------------------------------------------------------------------

    /** @return list<array<string, string>> */
    protected function rows(string $sql, string $types = '', ...$params): array
    {
        $stmt = self::$db->prepare($sql);
        if ($types !== '') {
            $stmt->bind_param($types, ...$params);
        }
        $stmt->execute();
        return $stmt->get_result()->fetch_all(MYSQLI_ASSOC);
    }

    protected function userCount(): int
    {
        return (int) $this->rows('SELECT COUNT(*) AS n FROM wp_users')[0]['n'];
    }

    /** @return array<string, string>|null */
    protected function userByEmail(string $email): ?array
    {
        return $this->rows('SELECT * FROM wp_users WHERE user_email = ?', 's', $email)[0] ?? null;
    }

    protected function meta(int $userId, string $key): ?string
    {
        return $this->rows('SELECT meta_value FROM wp_usermeta WHERE user_id = ? AND meta_key = ?', 'is', $userId, $key)[0]['meta_value'] ?? null;
    }

    /** @return list<string> */
    protected function tags(int $userId, string $crm): array
    {
        $raw = $this->meta($userId, self::META[$crm] . '_tags');
        return $raw === null ? [] : array_values((array) unserialize($raw));
    }

    /** @return list<string> */
    protected function roles(int $userId): array
    {
        $raw = $this->meta($userId, 'wp_capabilities');
        return $raw === null ? [] : array_keys(array_filter((array) unserialize($raw)));
    }

    protected function linkedUser(string $crm, string $contactId): ?int
    {
        $row = $this->rows('SELECT user_id FROM wp_crmhook_contacts WHERE crm = ? AND contact_id = ?', 'ss', $crm, $contactId)[0] ?? null;
        return $row ? (int) $row['user_id'] : null;
    }

    /** Runs PHP inside WordPress (scripts/site/wp.php) and returns what it printed. */
    protected function wp(string $code): string
    {
        $script = dirname(__DIR__, 2) . '/scripts/site/wp.php';
        exec(escapeshellarg(PHP_BINARY) . ' ' . escapeshellarg($script) . ' ' . escapeshellarg($code) . ' 2>&1', $out, $status);
        $this->assertSame(0, $status, implode("\n", $out));
        return implode("\n", $out);
    }

    // ---- wp-admin, logged in -------------------------------------------------------------

    /**
     * Logs a user in through wp-login.php, as a browser does (the test cookie set, redirects not
     * followed: a login WordPress accepts answers 302).
     *
     * @param string|null $site Another web server of the same WordPress; the site by default.
     * @return string The session's cookie jar, for adminRequest(), adminGet() and adminPost().
     */
    protected function login(string $user, string $password, ?string $site = null): string
    {
        $site ??= self::$site;
        $jar = (string) tempnam(sys_get_temp_dir(), 'crmhook-cookies');
        $this->cookieJars[] = $jar;
        $curl = curl_init($site . '/wp-login.php');
        curl_setopt_array($curl, [
            CURLOPT_POST => true, CURLOPT_RETURNTRANSFER => true, CURLOPT_COOKIEJAR => $jar, CURLOPT_COOKIEFILE => $jar, CURLOPT_TIMEOUT => 30,
            CURLOPT_COOKIE => 'wordpress_test_cookie=WP%20Cookie%20check',
            CURLOPT_POSTFIELDS => http_build_query(['log' => $user, 'pwd' => $password, 'testcookie' => '1', 'redirect_to' => $site . '/wp-admin/']),
        ]);
        curl_exec($curl);
        $this->assertSame(302, curl_getinfo($curl, CURLINFO_RESPONSE_CODE), "$user logged in");
        curl_close($curl);
        return $jar;
    }

    /**
     * Logs the admin (user 1, the password the harness made) in.
     *
     * @return string The session's cookie jar.
     */
    protected function adminLogin(?string $site = null): string
    {
        return $this->login('admin', trim((string) file_get_contents(self::$runDir . '/admin-password')), $site);
    }

    /**
     * A request with a logged-in session's cookies; redirects are not followed, so a 302 and its
     * Location can be asserted.
     *
     * @param string                    $path    A path and query on the site, or a full URL.
     * @param array<string, mixed>|null $form    Sent as a form body.
     * @param list<string>              $headers Extra request headers ("Name: value").
     * @return array{status: int, body: string, json: ?array, headers: array<string, string>, location: string}
     *         Header names lowercased; location is '' when the answer has none.
     */
    protected function adminRequest(string $jar, string $method, string $path, ?array $form = null, array $headers = []): array
    {
        $received = [];
        $curl = curl_init(str_starts_with($path, 'http') ? $path : self::$site . $path);
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_COOKIEFILE => $jar, CURLOPT_COOKIEJAR => $jar,
            CURLOPT_HTTPHEADER => $headers, CURLOPT_TIMEOUT => 30,
            CURLOPT_HEADERFUNCTION => self::headerCollector($received),
        ]);
        if ($form !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, http_build_query($form));
        }
        $body = (string) curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        $json = json_decode($body, true);
        return ['status' => $status, 'body' => $body, 'json' => is_array($json) ? $json : null, 'headers' => $received, 'location' => $received['location'] ?? ''];
    }

    /**
     * A GET of an admin URL as the logged-in session.
     *
     * @return array{status: int, body: string, json: ?array, headers: array<string, string>, location: string}
     */
    protected function adminGet(string $jar, string $path): array
    {
        return $this->adminRequest($jar, 'GET', $path);
    }

    /**
     * A form POST as the logged-in session.
     *
     * @param array<string, mixed> $form
     * @param list<string>         $headers
     * @return array{status: int, body: string, json: ?array, headers: array<string, string>, location: string}
     */
    protected function adminPost(string $jar, string $path, array $form, array $headers = []): array
    {
        return $this->adminRequest($jar, 'POST', $path, $form, $headers);
    }

    /**
     * Deletes the cookie jars of the test's sessions (an `@after` method, so it runs whatever
     * tearDown() a test class has).
     *
     * @after
     */
    protected function deleteCookieJars(): void
    {
        foreach ($this->cookieJars as $jar) {
            @unlink($jar);
        }
        $this->cookieJars = [];
    }

    // ---- the queue -----------------------------------------------------------------------

    /**
     * Polls `$done` until it answers true or `$seconds` pass.
     *
     * @return bool Its last answer.
     */
    protected function waitFor(callable $done, int $seconds, int $everyMs = 100): bool
    {
        $until = microtime(true) + $seconds;
        while (microtime(true) < $until) {
            if ($done()) {
                return true;
            }
            usleep($everyMs * 1000);
        }
        return (bool) $done();
    }

    /** @return list<array<string, mixed>> The queue's jobs, oldest first. */
    protected function jobs(): array
    {
        return $this->rows('SELECT * FROM wp_crmhook_queue ORDER BY id');
    }

    /** Waits until no job is queued or running (an empty queue is idle too). */
    protected function queueIdle(int $seconds): bool
    {
        return $this->waitFor(fn (): bool => $this->rows("SELECT id FROM wp_crmhook_queue WHERE status IN ('queued', 'running')") === [], $seconds);
    }

    /** Waits until the queue has jobs and none of them is queued or running. */
    protected function drained(int $seconds): bool
    {
        return $this->waitFor(fn (): bool => $this->jobs() !== [] && $this->rows("SELECT id FROM wp_crmhook_queue WHERE status IN ('queued', 'running')") === [], $seconds);
    }

    /**
     * Waits until no runner holds a runner slot (a named lock per slot, crmhook_runner_N): a
     * runner of an earlier test would otherwise write into this one's tables.
     */
    protected function runnersIdle(int $seconds): bool
    {
        $free = implode(' AND ', array_map(static fn (int $slot): string => "IS_FREE_LOCK('crmhook_runner_$slot')", range(1, self::RUNNER_SLOTS)));
        return $this->waitFor(static fn (): bool => (int) self::$db->query("SELECT $free")->fetch_row()[0] === 1, $seconds);
    }

    /** No call to the CRM for `$seconds`: the runners wait for its budget, webhooks pile up and merge. */
    protected function holdBudget(int $seconds, string $crm = 'activecampaign'): void
    {
        $stmt = self::$db->prepare("INSERT INTO wp_crmhook_budget (crm, next_at) VALUES (?, UTC_TIMESTAMP(6) + INTERVAL $seconds SECOND)
            ON DUPLICATE KEY UPDATE next_at = VALUES(next_at)");
        $stmt->bind_param('s', $crm);
        $stmt->execute();
    }

    /** @return list<string> Mails the site sent, raw. */
    protected function mails(): array
    {
        return array_map('file_get_contents', glob(self::$runDir . '/mail/*.eml') ?: []);
    }
}

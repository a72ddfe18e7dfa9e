<?php
/**
 * Base of the extension suite: the site's access key, request builders that look like what the
 * plugin hands over, and one assertion for refusals that checks everything a caller relies on
 * (exception class, code = HTTP status, message) and that the message never carries the key.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

use PHPUnit\Framework\TestCase;
use Throwable;

abstract class ExtensionTestCase extends TestCase
{
    /** The site's access key in every test. The fixtures in tests/fixtures/webhooks carry it too. */
    public const KEY = 'Fx7Qm2Lp9Rt4Wv6Yz8Bc1Dg3Hj5Kn0Ps';

    /** Every CRM slug the extension knows. */
    public const CRMS = ['activecampaign', 'convertkit', 'kit', 'fluentcrm', 'funnelkit', 'keap'];

    /** The keys crmhook_parse_webhook returns when asked for the fields (as these tests do). */
    public const HOOK_KEYS = [
        'action', 'crm', 'contact_id', 'email', 'tags', 'fields', 'role', 'send_notification', 'async', 'initiated_from',
    ];

    /** @var array<string, string|false> INI values as the test found them. */
    private array $iniBefore = [];

    protected function setUp(): void
    {
        parent::setUp();
        foreach (['crmhook.max_body_bytes', 'crmhook.http_timeout', 'crmhook.tag_cache_ttl'] as $name) {
            $this->iniBefore[$name] = ini_get($name);
        }
    }

    protected function tearDown(): void
    {
        // Tests that change a setting must not leak it into the next one. Set back rather than
        // ini_restore(), which does not work on crmhook's settings (see ExtensionInfoTest).
        foreach ($this->iniBefore as $name => $value) {
            if ($value !== false) {
                ini_set($name, $value);
            }
        }
        parent::tearDown();
    }

    /**
     * Calls crmhook_parse_webhook with the request fields the plugin always sends filled in, and
     * with `fields => true`, so the tests see the payload's fields too (the plugin never asks).
     *
     * @param array<string, mixed> $request
     * @param array<string, mixed> $settings extra settings (max_body_bytes, or an access_key override)
     * @return array<string, mixed>
     */
    protected static function parse(string $crm, array $request, array $settings = []): array
    {
        $request += ['method' => 'POST', 'query' => '', 'body' => '', 'content_type' => '', 'headers' => []];
        return crmhook_parse_webhook($request, $settings + ['crm' => $crm, 'access_key' => self::KEY, 'fields' => true]);
    }

    /**
     * The URL contract's query string with the right key: `wpf_action=…&access_key=KEY&…`.
     *
     * @param array<string, string> $more
     */
    protected static function query(string $action, array $more = []): string
    {
        return http_build_query(['wpf_action' => $action, 'access_key' => self::KEY] + $more);
    }

    /** @return array<string, mixed> */
    protected static function get(string $crm, string $query): array
    {
        return self::parse($crm, ['method' => 'GET', 'query' => $query]);
    }

    /** @return array<string, mixed> */
    protected static function postForm(string $crm, string $query, string $body): array
    {
        return self::parse($crm, [
            'query' => $query, 'body' => $body, 'content_type' => 'application/x-www-form-urlencoded',
        ]);
    }

    /** @return array<string, mixed> */
    protected static function postJson(string $crm, string $query, string $body): array
    {
        return self::parse($crm, ['query' => $query, 'body' => $body, 'content_type' => 'application/json']);
    }

    /**
     * Asserts that `$call` throws exactly what a caller relies on, and returns the exception.
     * Every refusal is also checked for the access key: a message must never carry it.
     */
    protected function assertRefused(callable $call, string $class, int $code, string $messageFragment): Throwable
    {
        try {
            $result = $call();
        } catch (Throwable $e) {
            $this->assertInstanceOf($class, $e, 'wrong exception class; message: ' . $e->getMessage());
            $this->assertSame($code, $e->getCode(), 'wrong exception code; message: ' . $e->getMessage());
            $this->assertStringContainsString($messageFragment, $e->getMessage());
            $this->assertStringNotContainsString(self::KEY, $e->getMessage(), 'the access key leaked into a message');
            return $e;
        }
        $this->fail("expected $class ($code) mentioning \"$messageFragment\", but the call returned: "
            . var_export($result, true));
    }

    /** Shorthand for a refused webhook: CrmHook\WebhookException whose code is the HTTP status. */
    protected function assertWebhookRefused(callable $call, int $status, string $messageFragment): Throwable
    {
        return $this->assertRefused($call, \CrmHook\WebhookException::class, $status, $messageFragment);
    }
}

<?php
/**
 * FluentCRM as the real server behaves (tests/fixtures/crm/fluentcrm/ holds answers captured from
 * FluentCRM 2.9.84): the client's exact email lookup, columns vs custom fields, permalinks, wrong
 * API URLs and permissions, and the emulator's answers held to the captures' shapes so it cannot
 * drift back to an easier FluentCRM.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Crm;

use CrmHook\Tests\E2E\E2ETestCase;

final class FluentCrmTest extends E2ETestCase
{
    private const CAPTURES = __DIR__ . '/../fixtures/crm/fluentcrm';

    protected function setUp(): void
    {
        $this->emulatorPost('/_emulator/reset');
        ini_set('crmhook.http_timeout', '10');
    }

    private function config(array $override = []): array
    {
        return array_merge(['crm' => 'fluentcrm', 'api_url' => self::$emulator . '/fluentcrm'] + self::$credentials['fluentcrm'], $override);
    }

    /** @return array<mixed> */
    private function capture(string $name): array
    {
        return json_decode((string) file_get_contents(self::CAPTURES . "/$name.json"), true);
    }

    /** @return array{status: int, json: mixed} The emulator's raw answer to a FluentCRM call. */
    private function raw(string $method, string $route, ?array $body = null, ?array $auth = null): array
    {
        $auth = $auth ?? [self::$credentials['fluentcrm']['username'], self::$credentials['fluentcrm']['password']];
        $curl = curl_init(self::$emulator . '/fluentcrm/wp-json/fluent-crm/v2' . $route);
        curl_setopt_array($curl, [
            CURLOPT_CUSTOMREQUEST => $method, CURLOPT_RETURNTRANSFER => true, CURLOPT_USERPWD => implode(':', $auth),
            CURLOPT_HTTPHEADER => ['Content-Type: application/json'],
        ]);
        if ($body !== null) {
            curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode($body));
        }
        $answer = (string) curl_exec($curl);
        $status = (int) curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
        curl_close($curl);
        return ['status' => $status, 'json' => json_decode($answer, true)];
    }

    // ---- the client --------------------------------------------------------------------------

    public function testFindContactIsExactEvenBehindFiftyNewerLookalikes(): void
    {
        // FluentCRM's search matches substrings, newest first, 50 a page: the address can be on page 2.
        $this->emulatorCall('PUT', '/_emulator/contacts/fluentcrm/2000', ['email' => 'ann@example.net', 'first_name' => 'Ann']);
        for ($n = 1; $n <= 55; $n++) {
            $this->emulatorCall('PUT', '/_emulator/contacts/fluentcrm/' . (2000 + $n), ['email' => "jo{$n}ann@example.net", 'first_name' => "Jo$n"]);
        }
        $this->assertSame('2000', crmhook_find_contact($this->config(), 'ann@example.net'));
        $this->assertSame('2007', crmhook_find_contact($this->config(), 'JO7ANN@example.net'));
        $this->assertNull(crmhook_find_contact($this->config(), 'nn@example.net'), 'a substring is no match');
        $calls = $this->crmCalls('fluentcrm');
        $this->assertSame('/wp-json/fluent-crm/v2/subscribers/0', $calls[0]['path']);
        $this->assertSame(['get_by_email' => 'ann@example.net'], $calls[0]['query']);
    }

    public function testColumnsGoAtTheTopAndCustomFieldsUnderCustomValues(): void
    {
        crmhook_update_contact($this->config(), '1002', ['phone' => '+1 555 0142', 'wp_password' => 'Generated9Password']);
        $stored = $this->emulatorCall('GET', '/_emulator/contacts/fluentcrm/1002');
        $this->assertSame('+1 555 0142', $stored['phone']);
        $this->assertSame('Generated9Password', $stored['fields']['wp_password']);
        $put = array_values(array_filter($this->crmCalls('fluentcrm'), static fn ($c) => $c['method'] === 'PUT'))[0];
        $this->assertEquals(['subscriber' => ['phone' => '+1 555 0142', 'custom_values' => ['wp_password' => 'Generated9Password']]], json_decode($put['body'], true));
    }

    public function testAFieldFluentCrmDoesNotDefineIsAnErrorNotASilentSuccess(): void
    {
        [$code, $message] = $this->failing(fn () => crmhook_update_contact($this->config(), '1002', ['return_pass' => 'Generated9Password']));
        $this->assertSame(502, $code);
        $this->assertStringContainsString('FluentCRM has no field "return_pass"', $message);
        $this->assertStringContainsString('membership_level, wp_username, wp_password', $message, 'names the fields that exist');
        $this->assertSame([], array_filter($this->crmCalls('fluentcrm'), static fn ($c) => $c['method'] === 'PUT'), 'nothing was sent');
    }

    public function testListFieldsNamesTheColumnsAndTheDefinedCustomFields(): void
    {
        $fields = crmhook_list_fields($this->config());
        $this->assertArrayHasKey('phone', $fields);
        $this->assertSame('WP Password', $fields['wp_password']);
        $this->assertArrayNotHasKey('return_pass', $fields);
        $keap = ['crm' => 'keap', 'api_url' => self::$emulator . '/keap'] + self::$credentials['keap'];
        $this->assertNull(crmhook_list_fields($keap), 'Keap keeps what it is sent: nothing to check');
    }

    public function testPhoneIsKeptSoItCanBeMapped(): void
    {
        $this->assertSame('+1 512 555 0101', crmhook_fetch_contact($this->config(), '1001')['fields']['phone']);
        $this->assertArrayNotHasKey('phone', crmhook_fetch_contact($this->config(), '1002')['fields'], 'no phone, no field');
    }

    public function testPlainPermalinksAreReachedThroughRestRoute(): void
    {
        $this->emulatorPost('/_emulator/permalinks', ['crm' => 'fluentcrm', 'plain' => true]);
        $config = $this->config(['api_url' => self::$emulator . '/fluentcrm']);
        $this->assertSame('ann.fluentcrm@example.com', crmhook_fetch_contact($config, '1001')['email']);
        $this->assertSame('1003', crmhook_find_contact($config, 'cy+news.fluentcrm@example.com'));
        $this->assertCount(10, crmhook_list_tags($config));
        // The site is remembered: after the first redirect, calls go straight to ?rest_route=.
        $this->assertSame(4, count($this->crmCalls('fluentcrm')), 'one redirected attempt, then three calls');
    }

    public function testARedirectThatIsNotPermalinksSaysToCheckTheApiUrl(): void
    {
        $this->fault(['crm' => 'fluentcrm', 'path' => '/', 'mode' => 'redirect', 'status' => 301, 'location' => 'https://www.crm.example.com/wp-json/fluent-crm/v2/subscribers/1001']);
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config(), '1001'));
        $this->assertSame(502, $code);
        $this->assertStringContainsString('redirected (HTTP 301) to https://www.crm.example.com', $message);
        $this->assertStringContainsString('check the API URL', $message);
    }

    public function testAnHtml404SaysTheApiUrlIsWrongNotThatTheContactIsMissing(): void
    {
        // WordPress in a subfolder that the API URL leaves out: the web server's 404 page.
        $this->fault(['crm' => 'fluentcrm', 'path' => '/', 'mode' => 'html', 'status' => 404]);
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config(), '1001'));
        $this->assertSame(502, $code, 'not 404: the contact was never asked for');
        $this->assertStringContainsString('404 with a web page', $message);
        $this->assertStringContainsString('check the API URL', $message);
    }

    public function testAUserWithoutFluentCrmRightsIsToldSo(): void
    {
        $viewer = ['username' => 'viewer', 'password' => 'qrst uvwx yzab cdef'];
        [$code, $message] = $this->failing(fn () => crmhook_fetch_contact($this->config($viewer), '1001'));
        $this->assertSame(401, $code);
        $this->assertStringContainsString('not allowed to use FluentCRM\'s API (HTTP 403)', $message);
        [, $wrong] = $this->failing(fn () => crmhook_fetch_contact($this->config(['password' => 'wrong']), '1001'));
        $this->assertStringContainsString('credentials were refused (HTTP 401)', $wrong);
    }

    // ---- the emulator answers as FluentCRM does -------------------------------------------------

    /** @param array<mixed> $capture @param array<mixed> $answer */
    private function assertSameKeys(array $capture, array $answer, string $what): void
    {
        $this->assertSame(array_keys($capture), array_keys($answer), $what);
    }

    public function testASubscriberHasTheRealColumnsAndCustomValuesOnlyWhenAskedFor(): void
    {
        $with = $this->raw('GET', '/subscribers/1001?with%5B%5D=subscriber.custom_values');
        $this->assertSameKeys($this->capture('get-subscriber-1')['subscriber'], $with['json']['subscriber'], 'with custom_values');
        $this->assertSame(['membership_level' => 'Gold', 'wp_username' => '', 'wp_password' => ''], $with['json']['subscriber']['custom_values']);
        $without = $this->raw('GET', '/subscribers/1001');
        $this->assertSameKeys($this->capture('get-subscriber-1-nowith')['subscriber'], $without['json']['subscriber'], 'without');
        $this->assertSameKeys($this->capture('get-subscriber-1')['subscriber']['tags'][0], $with['json']['subscriber']['tags'][0] + ['description' => '', 'created_at' => '', 'updated_at' => '', 'pivot' => []], 'tags carry at least id, title, slug');
    }

    public function testMissingSubscribersAre422OnReadAnd404OnWrite(): void
    {
        $get = $this->raw('GET', '/subscribers/999999');
        $this->assertSame([422, $this->capture('get-subscriber-missing')], [$get['status'], $get['json']]);
        $byEmail = $this->raw('GET', '/subscribers/0?get_by_email=nobody%40example.net');
        $this->assertSame([422, $this->capture('get-by-email-missing')], [$byEmail['status'], $byEmail['json']]);
        $put = $this->raw('PUT', '/subscribers/999999', ['subscriber' => ['phone' => '1']]);
        $this->assertSame([404, $this->capture('put-subscriber-missing')], [$put['status'], $put['json']]);
    }

    public function testTheExactLookupAnswersTheSubscriberShape(): void
    {
        $found = $this->raw('GET', '/subscribers/0?get_by_email=' . rawurlencode('cy+news.fluentcrm@example.com'));
        $this->assertSame(200, $found['status']);
        $this->assertSameKeys($this->capture('get-by-email')['subscriber'], $found['json']['subscriber'], 'get_by_email');
        $this->assertSame(1003, $found['json']['subscriber']['id']);
    }

    public function testListsUseLaravelsPaginatorWithLastPageZeroWhenEmpty(): void
    {
        $empty = $this->raw('GET', '/subscribers?search=nobody&per_page=50');
        $this->assertSameKeys($this->capture('search-plus-raw'), $empty['json'], 'search answer');
        $this->assertSame($this->capture('search-plus-raw')['subscribers'], $empty['json']['subscribers'], 'an empty page, field for field');
        $tags = $this->raw('GET', '/tags?per_page=100');
        $this->assertSameKeys($this->capture('tags-page1')['tags'], $tags['json']['tags'], 'tags paginator');
        $past = $this->raw('GET', '/tags?per_page=100&page=3');
        $this->assertSame([], $past['json']['tags']['data']);
        $this->assertNull($past['json']['tags']['from']);
    }

    public function testSearchIsASubstringMatchNewestFirst(): void
    {
        $this->emulatorCall('PUT', '/_emulator/contacts/fluentcrm/2001', ['email' => 'x@example.net', 'first_name' => 'Leeann']);
        $found = $this->raw('GET', '/subscribers?search=lee');
        $this->assertSame([2001, 1006, 1001], array_column($found['json']['subscribers']['data'], 'id'), 'names and emails, newest first');
        $this->assertSame(15, $found['json']['subscribers']['per_page'], 'FluentCRM\'s default page');
    }

    public function testAWriteKeepsOnlyDefinedCustomFieldsAndAnswersTheContact(): void
    {
        $put = $this->raw('PUT', '/subscribers/1002', ['subscriber' => ['custom_values' => ['wp_password' => 'p', 'not_defined' => 'x']]]);
        $this->assertSame(200, $put['status']);
        $this->assertSameKeys($this->capture('put-subscriber-1'), $put['json'], 'PUT answer');
        $this->assertSameKeys($this->capture('put-subscriber-1')['contact'], $put['json']['contact'], 'PUT contact');
        $stored = $this->emulatorCall('GET', '/_emulator/contacts/fluentcrm/1002');
        $this->assertSame('p', $stored['fields']['wp_password']);
        $this->assertArrayNotHasKey('not_defined', $stored['fields'], 'dropped without a word, as FluentCRM does');
    }

    public function testRoutesAreMatchedBeforeAuthAndErrorsAreWordPresss(): void
    {
        $noRoute = $this->raw('GET', '/no-such-thing', null, ['nobody', 'wrong']);
        $this->assertSame([404, $this->capture('no-route')], [$noRoute['status'], $noRoute['json']]);
        $noAuth = $this->raw('GET', '/subscribers/1001', null, ['nobody', 'wrong']);
        $this->assertSame([401, $this->capture('no-auth')], [$noAuth['status'], $noAuth['json']]);
        $viewer = $this->raw('GET', '/subscribers/1001', null, ['viewer', 'qrst uvwx yzab cdef']);
        $this->assertSame([403, $this->capture('no-permission-user')], [$viewer['status'], $viewer['json']]);
        $fields = $this->raw('GET', '/custom-fields/contacts');
        $this->assertSameKeys($this->capture('custom-fields-contacts')['fields'][0], $fields['json']['fields'][0], 'custom field');
    }

    public function testTheOutgoingWebhookIsFluentCrmProsFullSubscriberData(): void
    {
        $sent = $this->emulatorPost('/_emulator/send', ['crm' => 'fluentcrm', 'action' => 'test', 'url' => self::$site . '/', 'key' => 'k', 'contact' => '1001']);
        $body = json_decode((string) ($sent['request']['body'] ?? ''), true);
        $this->assertIsArray($body, json_encode($sent));
        $capture = $this->capture('webhook-body-A-pro-format-find');
        $this->assertSameKeys($capture, $body, 'custom_field, and no tags unless loaded');
        $loaded = $this->emulatorPost('/_emulator/send', ['crm' => 'fluentcrm', 'action' => 'test', 'url' => self::$site . '/', 'key' => 'k', 'contact' => '1001', 'tags_loaded' => '1']);
        $this->assertSameKeys($this->capture('webhook-body-B-pro-format-tags-loaded'), json_decode((string) $loaded['request']['body'], true), 'tags when loaded');
    }
}

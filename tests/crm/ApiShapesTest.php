<?php
/**
 * The emulator answers as the CRMs' public API references say their servers do, and the clients
 * cope with those answers: one test per difference docs/crms.md found between the references and
 * the emulator or a client (Keap, Kit, ConvertKit, FunnelKit; FluentCRM is FluentCrmTest).
 */

declare(strict_types=1);

namespace CrmHook\Tests\Crm;

use CrmHook\Tests\E2E\E2ETestCase;

final class ApiShapesTest extends E2ETestCase
{
    protected function setUp(): void
    {
        $this->emulatorPost('/_emulator/reset');
        ini_set('crmhook.http_timeout', '10');
    }

    private function config(string $crm): array
    {
        return ['crm' => $crm, 'api_url' => self::$emulator . "/$crm"] + self::$credentials[$crm];
    }

    /**
     * A call straight to an emulated CRM API, as the CRM's own server would be called.
     *
     * @return array{int, mixed} status and decoded JSON body
     */
    private function api(string $crm, string $method, string $path, array $headers, ?array $body = null): array
    {
        $lines = array_map(static fn ($k, $v) => "$k: $v", array_keys($headers), $headers);
        $context = stream_context_create(['http' => [
            'method' => $method, 'header' => implode("\r\n", array_merge(['Content-Type: application/json'], $lines)) . "\r\n",
            'content' => $body === null ? '' : json_encode($body), 'ignore_errors' => true, 'timeout' => 30,
        ]]);
        $answer = file_get_contents(self::$emulator . "/$crm$path", false, $context);
        preg_match('#^HTTP/\S+ (\d{3})#', $http_response_header[0] ?? '', $m);
        return [(int) ($m[1] ?? 0), json_decode((string) $answer, true)];
    }

    private function keap(string $method, string $path, ?array $body = null, ?string $key = null): array
    {
        return $this->api('keap', $method, $path, ['X-Keap-API-Key' => $key ?? self::$credentials['keap']['api_key']], $body);
    }

    private function kit(string $method, string $path, ?array $body = null): array
    {
        return $this->api('kit', $method, $path, ['X-Kit-Api-Key' => self::$credentials['kit']['api_key']], $body);
    }

    /** The calls a CRM received, with their JSON bodies decoded. */
    private function calls(string $crm, string $method, string $path): array
    {
        $calls = array_filter($this->crmCalls($crm), static fn ($c) => $c['method'] === $method && $c['path'] === $path);
        return array_values(array_map(static fn ($c) => $c + ['json' => json_decode((string) $c['body'], true)], $calls));
    }

    // ---- Keap REST v2 --------------------------------------------------------------------

    public function testKeapAnswersEveryIdAsAString(): void
    {
        [$status, $contact] = $this->keap('GET', '/v2/contacts/1004');
        $this->assertSame(200, $status);
        $this->assertSame('1004', $contact['id']);
        $this->assertSame(['2', '4'], $contact['tag_ids']);
        $this->assertSame(['12', '13', '14'], array_column($contact['custom_fields'], 'id'));
        [, $tags] = $this->keap('GET', '/v2/tags?page_size=2');
        $this->assertSame(['1', '2'], array_column($tags['tags'], 'id'));
        // The client reads them as it read numbers.
        $fetched = crmhook_fetch_contact($this->config('keap'), '1004');
        $this->assertSame('1004', $fetched['id']);
        $this->assertSame(['2', '4'], $fetched['tags']);
        $this->assertSame('dee_park', $fetched['fields']['13']);
    }

    public function testKeapErrorsHaveTheV2ErrorShape(): void
    {
        [$status, $body] = $this->keap('GET', '/v2/contacts/424242');
        $this->assertSame(404, $status);
        $this->assertSame(['code', 'message', 'status', 'details'], array_keys($body));
        $this->assertSame(404, $body['code']);
        [$status, $body] = $this->keap('GET', '/v2/contacts/1001', null, 'wrong-key-1234');
        $this->assertSame(401, $status);
        $this->assertSame(['code', 'message', 'status', 'details'], array_keys($body));
        try {
            crmhook_fetch_contact($this->config('keap'), '424242');
            $this->fail('no CrmHook\CrmException');
        } catch (\CrmHook\CrmException $e) {
            $this->assertSame(404, $e->getCode());
        }
    }

    public function testKeapUpdateKeepsTheContactsOtherCustomFields(): void
    {
        // Keap replaces the whole custom_fields list on PATCH; sending only the changed field
        // would wipe the contact's others.
        [$status] = $this->keap('PATCH', '/v2/contacts/1001', ['custom_fields' => [['id' => '14', 'content' => 'only this']]]);
        $this->assertSame(200, $status);
        $this->assertSame(['14' => 'only this'], $this->emulatorCall('GET', '/_emulator/contacts/keap/1001')['fields']);
        crmhook_update_contact($this->config('keap'), '1004', ['14' => 'Generated9Password']);
        $stored = $this->emulatorCall('GET', '/_emulator/contacts/keap/1004')['fields'];
        $this->assertSame(['12' => 'Gold', '13' => 'dee_park', '14' => 'Generated9Password'], $stored);
    }

    public function testKeapUpdateSendsFieldIdsAsStringsUnderAnUpdateMask(): void
    {
        crmhook_update_contact($this->config('keap'), '1002', ['14' => 'Generated9Password']);
        [$patch] = $this->calls('keap', 'PATCH', '/v2/contacts/1002');
        $this->assertSame('custom_fields', $patch['query']['update_mask'] ?? null);
        $ids = array_column($patch['json']['custom_fields'], 'id');
        $this->assertContains('14', $ids);
        foreach ($ids as $id) {
            $this->assertIsString($id);
        }
    }

    public function testKeapEmailFilterIsExactUnlessItEndsInAStar(): void
    {
        [, $exact] = $this->keap('GET', '/v2/contacts?filter=' . rawurlencode('email==ann.keap@example.com'));
        $this->assertSame(['1001'], array_column($exact['contacts'], 'id'));
        [, $prefix] = $this->keap('GET', '/v2/contacts?filter=' . rawurlencode('email==ann*'));
        $this->assertSame(['1001'], array_column($prefix['contacts'], 'id'), 'a prefix, not a substring: leeann.… is not matched');
        $this->assertSame('1001', crmhook_find_contact($this->config('keap'), 'ann.keap@example.com'));
    }

    // ---- Kit v4 and ConvertKit v3 --------------------------------------------------------

    public function testKitFindsAnUnsubscribedSubscriberByEmail(): void
    {
        $this->emulatorCall('PUT', '/_emulator/contacts/kit/1010', ['email' => 'gone.kit@example.com', 'first_name' => 'Gus', 'state' => 'cancelled']);
        // Kit lists only active subscribers unless asked for `status=all`.
        [, $default] = $this->kit('GET', '/v4/subscribers?email_address=gone.kit%40example.com');
        $this->assertSame([], $default['subscribers']);
        $this->assertSame('1010', crmhook_find_contact($this->config('kit'), 'gone.kit@example.com'));
        $this->assertSame('gone.kit@example.com', crmhook_fetch_contact($this->config('kit'), '1010')['email']);
    }

    public function testKitUpdateSendsTheSubscribersOwnEmailAddress(): void
    {
        [$status, $body] = $this->kit('PUT', '/v4/subscribers/1002', ['fields' => ['14' => 'x']]);
        $this->assertSame(422, $status, 'v4 requires email_address');
        $this->assertIsString($body['errors'][0] ?? null);
        crmhook_update_contact($this->config('kit'), '1002', ['14' => 'Generated9Password']);
        $puts = $this->calls('kit', 'PUT', '/v4/subscribers/1002');
        $put = end($puts);
        $address = $this->emulatorCall('GET', '/_emulator/contacts/kit/1002')['email'];
        $this->assertSame($address, $put['json']['email_address']);
        $this->assertSame('Generated9Password', $this->emulatorCall('GET', '/_emulator/contacts/kit/1002')['fields']['14']);
    }

    public function testRuleAnswersNameTheEventWithoutItsPrefix(): void
    {
        $event = ['name' => 'subscriber.tag_add', 'tag_id' => 4];
        [$status, $v4] = $this->kit('POST', '/v4/webhooks', ['target_url' => 'https://shop.example.com/', 'event' => $event]);
        $this->assertSame(201, $status);
        $this->assertSame('tag_add', $v4['webhook']['event']['name']);
        $this->assertArrayHasKey('initiator_value', $v4['webhook']['event']);
        [$status, $v3] = $this->api('convertkit', 'POST', '/v3/automations/hooks', [], [
            'api_secret' => self::$credentials['convertkit']['api_secret'], 'target_url' => 'https://shop.example.com/', 'event' => $event,
        ]);
        $this->assertSame(200, $status);
        $this->assertSame('tag_add', $v3['rule']['event']['name']);
        // The client reads only the id, so either form registers.
        $this->assertNotSame('', crmhook_register_webhook($this->config('kit'), 'subscriber.tag_add', '4', 'https://shop.example.com/'));
    }

    public function testRuleEventsNameOnlyTheIdTheyTake(): void
    {
        $rule = static fn (array $event) => ['target_url' => 'https://shop.example.com/', 'event' => $event];
        [$status, $answer] = $this->kit('POST', '/v4/webhooks', $rule(['name' => 'subscriber.subscriber_unsubscribe']));
        $this->assertSame(201, $status);
        $this->assertSame('subscriber_unsubscribe', $answer['webhook']['event']['name']);
        [$status] = $this->kit('POST', '/v4/webhooks', $rule(['name' => 'subscriber.tag_add']));
        $this->assertSame(422, $status, 'a tag event without its tag');
        [$status] = $this->kit('POST', '/v4/webhooks', $rule(['name' => 'subscriber.subscriber_unsubscribe', 'tag_id' => 4]));
        $this->assertSame(422, $status, 'a tag where the event takes none');
        [$status] = $this->kit('POST', '/v4/webhooks', $rule(['name' => 'subscriber.unsubscribe']));
        $this->assertSame(422, $status, 'not an event');
    }

    public function testAnUnsubscribeRuleIsRegisteredWithTheEventAlone(): void
    {
        foreach (['convertkit' => '/v3/automations/hooks', 'kit' => '/v4/webhooks'] as $crm => $path) {
            $target = "https://shop.example.com/?wpf_action={$crm}_unsubscribed";
            $id = crmhook_register_webhook($this->config($crm), 'subscriber.subscriber_unsubscribe', '', $target);
            $this->assertMatchesRegularExpression('/^\d+$/', $id);
            $sent = $this->calls($crm, 'POST', $path);
            $this->assertCount(1, $sent, $crm);
            $this->assertSame(['name' => 'subscriber.subscriber_unsubscribe'], $sent[0]['json']['event'], "$crm: no tag_id");
            $this->assertSame($target, $sent[0]['json']['target_url']);
            $this->assertSame($crm === 'convertkit', isset($sent[0]['json']['api_secret']), "$crm: the v3 secret in the body only");
            foreach ([['subscriber.tag_add', ''], ['subscriber.subscriber_unsubscribe', '4']] as [$event, $tag]) {
                try {
                    crmhook_register_webhook($this->config($crm), $event, $tag, $target);
                    $this->fail("$crm $event with tag '$tag' was accepted");
                } catch (\ValueError $e) {
                    $this->assertStringContainsString('tag id', $e->getMessage());
                }
            }
            $this->assertCount(1, $this->calls($crm, 'POST', $path), "$crm: a refused rule sends nothing");
        }
    }

    // ---- FunnelKit Automations ----------------------------------------------------------

    public function testFunnelKitTagListFollowsLimitOffsetPages(): void
    {
        $tags = crmhook_list_tags($this->config('funnelkit'));
        $this->assertCount(10, $tags);
        $this->assertSame('Customer', $tags[1]);
        $pages = $this->calls('funnelkit', 'GET', '/wp-json/autonami-app/tags');
        // The emulator serves 4 a page: offsets 0, 4, 8, then an empty page at 10.
        $this->assertSame(['0', '4', '8', '10'], array_map(static fn ($c) => (string) ($c['query']['offset'] ?? ''), $pages));
    }

    // ---- rate limits, with the bodies the references show --------------------------------

    public function testTheDocumentedRateLimitAnswersAre429AfterOneRetry(): void
    {
        // Kit: a plain-text body and no Retry-After; Keap: its Error shape with `code` a string.
        $this->fault(['crm' => 'kit', 'path' => '/v4/subscribers', 'status' => 429, 'body' => 'Retry later']);
        $this->fault(['crm' => 'keap', 'path' => '/v2/contacts', 'status' => 429,
            'body' => ['code' => '429', 'message' => 'Quota Exceeded', 'status' => 'Request Throttled', 'details' => null]]);
        foreach (['kit', 'keap'] as $crm) {
            try {
                crmhook_fetch_contact($this->config($crm), '1001');
                $this->fail("$crm: no CrmHook\\CrmException");
            } catch (\CrmHook\CrmException $e) {
                $this->assertSame(429, $e->getCode(), $crm);
                $this->assertStringContainsString('rate limited', $e->getMessage());
            }
            $this->assertCount(2, $this->crmCalls($crm), "$crm: one retry, then give up");
        }
    }
}

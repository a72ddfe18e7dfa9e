<?php
/**
 * crmhook_list_contacts_by_tag() against the emulator: every CRM's listing endpoint, its
 * pagination followed page by page to the end, totals where the CRM gives them, bad arguments
 * and CRM failures.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Crm;

use CrmHook\Tests\E2E\E2ETestCase;

final class ListByTagTest extends E2ETestCase
{
    private const CRMS = ['activecampaign', 'convertkit', 'kit', 'fluentcrm', 'funnelkit', 'keap'];

    /** The tag the bulk seed puts on its contacts: not one of the seed's own. */
    private const TAG = '77';

    protected function setUp(): void
    {
        $this->emulatorPost('/_emulator/reset');
        ini_set('crmhook.http_timeout', '10');
    }

    /** @return array<string, array{string}> */
    public static function crms(): array
    {
        return array_combine(self::CRMS, array_map(static fn ($c) => [$c], self::CRMS));
    }

    private function config(string $crm, array $override = []): array
    {
        return array_merge(['crm' => $crm, 'api_url' => self::$emulator . "/$crm"] + self::$credentials[$crm], $override);
    }

    /**
     * Every page, following `next` from null.
     *
     * @return array{ids: list<string>, emails: list<?string>, pages: int, totals: list<?int>}
     */
    private function everyPage(string $crm, string|int $tag): array
    {
        $ids = $emails = $totals = [];
        $cursor = null;
        $pages = 0;
        do {
            $page = crmhook_list_contacts_by_tag($this->config($crm), $tag, $cursor);
            $this->assertSame(['contacts', 'next', 'total'], array_keys($page));
            foreach ($page['contacts'] as $contact) {
                $this->assertSame(['id', 'email'], array_keys($contact));
                $ids[] = $contact['id'];
                $emails[] = $contact['email'];
            }
            $totals[] = $page['total'];
            $cursor = $page['next'];
            $this->assertLessThan(100, ++$pages, 'the listing ends');
        } while ($cursor !== null);
        return ['ids' => $ids, 'emails' => $emails, 'pages' => $pages, 'totals' => $totals];
    }

    /** @dataProvider crms */
    public function testEveryContactWithTheTagIsListedOnceAcrossPages(string $crm): void
    {
        $this->emulatorPost("/_emulator/contacts/$crm/tagged", ['tag' => self::TAG, 'count' => 250, 'from' => 20001]);
        $got = $this->everyPage($crm, self::TAG);

        $expected = array_map('strval', range(20001, 20250));
        $sorted = $got['ids'];
        sort($sorted);
        $this->assertSame($expected, $sorted, 'each of the 250 once, no seed contact without the tag');
        $this->assertGreaterThanOrEqual(3, $got['pages'], 'more than one page');
        // Totals where the CRM gives them (Kit: asked for on the first page only); Keap never does.
        $total = $crm === 'keap' ? null : 250;
        $expected = array_fill(0, $got['pages'], $crm === 'kit' ? null : $total);
        $expected[0] = $total;
        $this->assertSame($expected, $got['totals']);
        // ConvertKit v3's subscriptions name only the subscriber's id.
        if ($crm === 'convertkit') {
            $this->assertSame(array_fill(0, 250, null), $got['emails']);
        } else {
            $this->assertContains('import-20001@example.com', $got['emails']);
        }
    }

    /** @dataProvider crms */
    public function testEachCrmsOwnListingEndpointAndPagingAreUsed(string $crm): void
    {
        $this->emulatorPost("/_emulator/contacts/$crm/tagged", ['tag' => self::TAG, 'count' => 120, 'from' => 30001]);
        $this->everyPage($crm, (int) self::TAG);
        $calls = array_values(array_filter($this->crmCalls($crm), static fn ($c) => $c['method'] === 'GET'));
        $paths = array_unique(array_map(static fn ($c) => $c['path'], $calls));
        $expected = [
            'activecampaign' => '/api/3/contacts', 'convertkit' => '/v3/tags/77/subscriptions', 'kit' => '/v4/tags/77/subscribers',
            'fluentcrm' => '/wp-json/fluent-crm/v2/subscribers', 'funnelkit' => '/wp-json/autonami-app/contacts', 'keap' => '/v2/tags/77/contacts',
        ][$crm];
        $this->assertSame([$expected], array_values($paths));
        $first = $calls[0]['query'];
        $second = $calls[1]['query'];
        switch ($crm) {
            case 'activecampaign':
                $this->assertSame(['tagid' => '77', 'limit' => '100', 'offset' => '0'], $first);
                $this->assertSame('100', $second['offset']);
                break;
            case 'convertkit':
                $this->assertSame(['page' => '1'], $first, 'the secret is sent (and kept out of the log)');
                $this->assertSame(['page' => '2'], $second);
                break;
            case 'kit':
                $this->assertSame(['per_page' => '100', 'include_total_count' => 'true'], $first);
                $this->assertSame(['per_page', 'after'], array_keys($second), 'the count only on the first page');
                break;
            case 'fluentcrm':
                $this->assertSame(['tags' => ['77'], 'per_page' => '100', 'page' => '1'], $first);
                $this->assertSame('2', $second['page']);
                break;
            case 'funnelkit':
                $this->assertSame(['limit' => '100', 'offset' => '0', 'filters' => ['tags_any' => ['77']]], $first);
                $this->assertSame('100', $second['offset']);
                break;
            case 'keap':
                $this->assertSame(['page_size' => '100'], $first);
                $this->assertArrayHasKey('page_token', $second);
                break;
        }
    }

    /** @dataProvider crms */
    public function testATagNobodyCarriesIsOneEmptyPage(string $crm): void
    {
        $page = crmhook_list_contacts_by_tag($this->config($crm), '6', null);
        $this->assertSame([], $page['contacts']);
        $this->assertNull($page['next']);
        $this->assertSame($crm === 'keap' ? null : 0, $page['total']);
    }

    /** @dataProvider crms */
    public function testWrongCredentialsAre401AndNeverEchoed(string $crm): void
    {
        $wrong = ['api_key' => 'WRONG-key-1234', 'api_secret' => 'WRONG-secret-1234', 'password' => 'WRONG pass word'];
        [$code, $message] = $this->failing(fn () => crmhook_list_contacts_by_tag($this->config($crm, $wrong), self::TAG));
        $this->assertSame(401, $code, $message);
        $this->assertStringNotContainsString('WRONG', $message);
        $this->assertStringContainsString('tag 77', $message, 'the step names the tag');
    }

    public function testACrmOutageIs502AndARetriedPageGoesOn(): void
    {
        $this->emulatorPost('/_emulator/contacts/activecampaign/tagged', ['tag' => self::TAG, 'count' => 150]);
        $first = crmhook_list_contacts_by_tag($this->config('activecampaign'), self::TAG);
        $this->assertSame('100', $first['next']);
        $this->fault(['crm' => 'activecampaign', 'path' => '/api/3/contacts', 'status' => 500, 'body' => ['message' => 'down'], 'times' => 1]);
        [$code] = $this->failing(fn () => crmhook_list_contacts_by_tag($this->config('activecampaign'), self::TAG, $first['next']));
        $this->assertSame(502, $code);
        $second = crmhook_list_contacts_by_tag($this->config('activecampaign'), self::TAG, $first['next']);
        $this->assertCount(50, $second['contacts']);
        $this->assertNull($second['next']);
    }

    public function testBadArgumentsAreValueAndTypeErrors(): void
    {
        $config = $this->config('activecampaign');
        foreach ([['7; DROP', null], ['7', 'not a cursor'], ['7', '-5']] as [$tag, $cursor]) {
            try {
                crmhook_list_contacts_by_tag($config, $tag, $cursor);
                $this->fail("accepted $tag / $cursor");
            } catch (\ValueError $e) {
                $this->assertNotSame('', $e->getMessage());
            }
        }
        $this->expectException(\TypeError::class);
        crmhook_list_contacts_by_tag($config, [7]);
    }

    public function testAnUnknownKeapOrConvertKitTagIs404(): void
    {
        foreach (['keap', 'convertkit', 'kit'] as $crm) {
            [$code] = $this->failing(fn () => crmhook_list_contacts_by_tag($this->config($crm), '4242'));
            $this->assertSame(404, $code, $crm);
        }
    }
}

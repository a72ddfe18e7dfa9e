<?php
/**
 * The reference tables the plugin reads instead of keeping copies: crmhook_crms() (the CRM
 * table) and crmhook_username_formats(). The expected values are written out here on purpose:
 * they are the facts the plugin and sites moving from WP Fusion rely on (meta slugs, public API
 * hosts, which credentials are secret), so a change to them has to change this test too.
 */

declare(strict_types=1);

namespace CrmHook\Tests\Extension;

final class TablesTest extends ExtensionTestCase
{
    public function testEveryCrmIsListedInTheSettingsOrder(): void
    {
        $this->assertSame(self::CRMS, array_keys(crmhook_crms()));
        foreach (crmhook_crms() as $slug => $crm) {
            $this->assertSame($slug, $crm['slug']);
        }
    }

    public function testEachRowHasTheDocumentedShape(): void
    {
        foreach (crmhook_crms() as $slug => $crm) {
            $this->assertSame(
                ['slug', 'name', 'label', 'meta_slug', 'default_api_url', 'api_url_example', 'credentials', 'tags_as',
                    'automation_rules', 'contact_id_pair', 'rate_limit', 'wordpress'],
                array_keys($crm),
                $slug
            );
            $this->assertIsString($crm['name']);
            $this->assertIsString($crm['label']);
            $this->assertIsBool($crm['automation_rules']);
            $this->assertIsBool($crm['wordpress']);
            $this->assertIsFloat($crm['rate_limit']);
            $this->assertGreaterThan(0, $crm['rate_limit']);
            $this->assertStringStartsWith('https://', $crm['api_url_example']);
            foreach ($crm['credentials'] as $key => $credential) {
                $this->assertSame(['label', 'secret', 'required'], array_keys($credential), "$slug $key");
                $this->assertIsBool($credential['secret']);
                $this->assertIsBool($credential['required']);
                $this->assertNotSame('', $credential['label']);
            }
        }
    }

    public function testMetaSlugsAreTheIncumbentPluginsOnes(): void
    {
        $this->assertSame(
            ['activecampaign' => 'activecampaign', 'convertkit' => 'convertkit', 'kit' => 'kit',
                'fluentcrm' => 'fluentcrm-rest', 'funnelkit' => 'autonami', 'keap' => 'infusionsoft'],
            array_map(static fn (array $crm) => $crm['meta_slug'], crmhook_crms())
        );
    }

    public function testCredentialsAreThoseEachCrmReadsWithTheSecretsMarked(): void
    {
        $credentials = array_map(
            static fn (array $crm) => array_map(static fn (array $c) => $c['secret'], $crm['credentials']),
            crmhook_crms()
        );
        $this->assertSame([
            'activecampaign' => ['api_url' => false, 'api_key' => true],
            'convertkit' => ['api_url' => false, 'api_secret' => true],
            'kit' => ['api_url' => false, 'api_key' => true],
            'fluentcrm' => ['api_url' => false, 'username' => false, 'password' => true],
            'funnelkit' => ['api_url' => false, 'username' => false, 'password' => true],
            'keap' => ['api_url' => false, 'api_key' => true],
        ], $credentials);
    }

    public function testTheApiUrlIsOptionalExactlyWhereThereIsAPublicHost(): void
    {
        $defaults = array_map(static fn (array $crm) => $crm['default_api_url'], crmhook_crms());
        $this->assertSame([
            'activecampaign' => null,
            'convertkit' => 'https://api.convertkit.com',
            'kit' => 'https://api.kit.com',
            'fluentcrm' => null,
            'funnelkit' => null,
            'keap' => 'https://api.infusionsoft.com/crm/rest',
        ], $defaults);
        foreach (crmhook_crms() as $slug => $crm) {
            $this->assertSame($crm['default_api_url'] === null, $crm['credentials']['api_url']['required'], $slug);
        }
    }

    public function testTheTableAgreesWithWhatTheCrmFunctionsDo(): void
    {
        foreach (crmhook_crms() as $slug => $crm) {
            // A CRM without a public host refuses a $crm without api_url, before any call.
            if ($crm['default_api_url'] === null) {
                try {
                    crmhook_list_tags(['crm' => $slug, 'api_url' => '']);
                    $this->fail("$slug: listing tags without an api_url worked");
                } catch (\ValueError $e) {
                    $this->assertStringContainsString($crm['name'] . ' needs an api_url', $e->getMessage());
                }
            }
            // Only ConvertKit and Kit rules are registered by the site.
            try {
                crmhook_unregister_webhook(['crm' => $slug, 'api_url' => 'https://127.0.0.1:1'], '1');
                $this->fail("$slug: unregister did not fail");
            } catch (\ValueError $e) {
                $this->assertFalse($crm['automation_rules'], "$slug: " . $e->getMessage());
            } catch (\CrmHook\CrmException $e) {
                $this->assertTrue($crm['automation_rules'], "$slug: " . $e->getMessage());
            }
        }
    }

    public function testTagsAreStoredAsNamesOnlyForActiveCampaign(): void
    {
        $this->assertSame(
            ['activecampaign' => 'names', 'convertkit' => 'ids', 'kit' => 'ids', 'fluentcrm' => 'ids', 'funnelkit' => 'ids', 'keap' => 'ids'],
            array_map(static fn (array $crm) => $crm['tags_as'], crmhook_crms())
        );
    }

    public function testNameValuePairCrmsNameTheirContactIdMergeField(): void
    {
        $pairs = array_filter(array_map(static fn (array $crm) => $crm['contact_id_pair'], crmhook_crms()));
        $this->assertSame(['funnelkit' => 'contact_id = {{contact_id}}', 'keap' => 'contactId = ~Contact.Id~'], $pairs);
    }

    public function testUsernameFormatsAreTheOnesMapContactTakes(): void
    {
        $formats = crmhook_username_formats();
        $this->assertSame(['email', 'flname', 'fnamenum'], array_keys($formats));
        $contact = ['id' => '1', 'email' => 'john.smith@example.com', 'first_name' => 'John', 'last_name' => 'Smith', 'fields' => [], 'tags' => []];
        foreach ($formats as $slug => $format) {
            $this->assertSame(['label', 'description', 'example'], array_keys($format), $slug);
            $this->assertNotSame('', $format['label']);
            $this->assertNotSame('', $format['description']);
            // The example is what the format really makes for John Smith.
            $plan = crmhook_map_contact($contact, ['username_format' => $slug, 'default_role' => 'subscriber'], null);
            $this->assertSame($plan['user']['user_login'], $format['example'], $slug);
        }
        $this->assertSame('johnsmith', $formats['flname']['example']);
    }

    public function testAnUnknownUsernameFormatNamesTheKnownOnes(): void
    {
        try {
            crmhook_map_contact(['email' => 'a@example.com'], ['username_format' => 'nickname'], null);
            $this->fail('an unknown username_format was accepted');
        } catch (\ValueError $e) {
            $this->assertStringContainsString('use email, flname, fnamenum', $e->getMessage());
        }
    }

    public function testEachCallReturnsAFreshArray(): void
    {
        $crms = crmhook_crms();
        $crms['kit']['label'] = 'changed';
        $this->assertSame('Kit', crmhook_crms()['kit']['label']);
    }
}

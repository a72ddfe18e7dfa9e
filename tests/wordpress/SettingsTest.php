<?php
/**
 * CrmHook_Settings and the admin screen's pure parts: what reaches the extension.
 */

declare(strict_types=1);

use PHPUnit\Framework\TestCase;

final class SettingsTest extends TestCase
{
    public function testActivationLeavesAnAccessKeyFromTheExtension(): void
    {
        $this->assertMatchesRegularExpression('/^[A-Za-z0-9]{32}$/', (string) CrmHook_Settings::get('access_key'));
    }

    public function testPlanOptionsCarryEveryRolesCapabilitiesIncludingCustomRoles(): void
    {
        add_role('shop_boss', 'Shop boss', ['read' => true, 'promote_users' => true]);
        $options = CrmHook_Settings::plan_options('shop_boss');
        $this->assertTrue($options['roles']['shop_boss']['promote_users']);
        $this->assertTrue($options['roles']['administrator']['manage_options']);
        $this->assertSame('shop_boss', $options['requested_role']);
        $this->assertSame([get_option('default_role')], $options['allowed_roles'], 'none allowed: the default role only');
        // And the extension refuses it, judging the capabilities it was given.
        $plan = crmhook_map_contact(['id' => '1', 'email' => 'x@example.com'], ['allowed_roles' => ['shop_boss']] + $options, null);
        $this->assertSame('subscriber', $plan['user']['role']);
        remove_role('shop_boss');
    }

    public function testMetaSlugsMatchTheIncumbent(): void
    {
        $this->assertSame('fluentcrm-rest', CrmHook_Settings::meta_slug('fluentcrm'));
        $this->assertSame('autonami', CrmHook_Settings::meta_slug('funnelkit'));
        $this->assertSame('infusionsoft', CrmHook_Settings::meta_slug('keap'));
    }

    public function testSavingTheFormKeepsSecretsLeftEmptyAndCleansTheRest(): void
    {
        // Same CRM and API URL: an empty key field keeps the saved key (ConnectionTest has the rest).
        CrmHook_Settings::update(['api_key' => 'saved-key', 'crm' => 'activecampaign', 'api_url' => 'https://acme.api-us1.com']);
        $clean = CrmHook_Admin::sanitize([
            '_form'         => '1',
            'crm'           => 'activecampaign',
            'api_url'       => 'https://acme.api-us1.com/',
            'api_key'       => '',
            'allowed_roles' => ['subscriber', 'no-such-role'],
            'field_map'     => [['crm' => '12', 'wp' => 'Membership Level'], ['crm' => '', 'wp' => 'x']],
            'username_format' => 'bogus',
        ]);
        $this->assertSame('saved-key', $clean['api_key']);
        $this->assertSame('activecampaign', $clean['crm']);
        $this->assertSame(['subscriber'], $clean['allowed_roles']);
        $this->assertSame(['12' => 'membershiplevel'], $clean['field_map']);
        $this->assertSame('email', $clean['username_format']);
        $this->assertSame(CrmHook_Settings::get('access_key'), $clean['access_key'], 'the form never changes the key');
        $this->assertSame('activecampaign', CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'hubspot'])['crm'], 'an unknown CRM keeps the saved one');
    }

    public function testTheUrlBuilderPrintsWhatEachCrmNeeds(): void
    {
        $ac = CrmHook_Admin::builder_lines('activecampaign', 'KEY');
        $this->assertSame(home_url('/') . '?wpf_action=add&access_key=KEY', $ac['add']);
        $this->assertSame(home_url('/') . '?wpf_action=update_tags&access_key=KEY', $ac['update_tags']);
        $this->assertSame("contactId = ~Contact.Id~\nwpf_action = update\naccess_key = KEY", CrmHook_Admin::builder_lines('keap', 'KEY')['update']);
        $this->assertSame("contact_id = {{contact_id}}\nwpf_action = add\naccess_key = KEY", CrmHook_Admin::builder_lines('funnelkit', 'KEY')['add']);
    }

    public function testTheCrmTableIsTheExtensionsWithLabelsTranslated(): void
    {
        $crms = CrmHook_Settings::crms();
        $this->assertSame(array_keys(crmhook_crms()), array_keys($crms));
        $this->assertSame('Infusionsoft / Keap', $crms['keap']['label']);
        $this->assertSame('Service account key', $crms['keap']['credentials']['api_key']['label']);
        // The labels go through the crmhook text domain (scripts/make-pot.sh lists them).
        $filter = static fn (string $translation, string $text, string $domain) => $domain === 'crmhook' && $text === 'Application password' ? 'Anwendungspasswort' : $translation;
        add_filter('gettext', $filter, 10, 3);
        try {
            $this->assertSame('Anwendungspasswort', CrmHook_Settings::crms()['fluentcrm']['credentials']['password']['label']);
        } finally {
            remove_filter('gettext', $filter, 10);
        }
    }

    public function testActivationKeepsTheCrmTableForWhenTheExtensionIsMissing(): void
    {
        delete_option(CrmHook_Settings::CRMS_OPTION);
        CrmHook_Plugin::activate();
        $this->assertSame(crmhook_crms(), get_option(CrmHook_Settings::CRMS_OPTION));
    }

    public function testCredentialsToSaveAreTheOnesTheCrmTableLists(): void
    {
        $this->assertSame(
            ['api_url' => false, 'api_key' => true, 'api_secret' => true, 'username' => false, 'password' => true],
            CrmHook_Settings::credential_keys()
        );
        CrmHook_Settings::update(['crm' => 'fluentcrm', 'api_url' => 'https://crm.example.com', 'username' => 'old', 'password' => 'saved-pass', 'api_secret' => 'saved-secret']);
        $clean = CrmHook_Admin::sanitize(['_form' => '1', 'crm' => 'fluentcrm', 'api_url' => 'https://crm.example.com', 'username' => ' <b>crm-bot</b> ', 'password' => '', 'api_secret' => 'new-secret']);
        $this->assertSame('crm-bot', $clean['username'], 'a plain credential is cleaned');
        $this->assertSame('saved-pass', $clean['password'], 'an empty secret keeps the saved one');
        $this->assertSame('', $clean['api_secret'], 'FluentCRM takes no api_secret (the table says so): it is not kept');
        $this->assertSame(['crm', 'api_url', 'api_key', 'api_secret', 'username', 'password'], array_keys(CrmHook_Settings::crm_config()));
    }

    public function testUsernameFormatsAreTheExtensions(): void
    {
        $formats = CrmHook_Settings::username_formats();
        $this->assertSame(array_keys(crmhook_username_formats()), array_keys($formats));
        $this->assertSame('johnsmith', $formats['flname']['example']);
        foreach (array_keys($formats) as $slug) {
            $this->assertSame($slug, CrmHook_Admin::sanitize(['_form' => '1', 'username_format' => $slug])['username_format']);
        }
    }

    public function testAutomationRulesAndRatesComeFromTheTable(): void
    {
        $this->assertTrue(CrmHook_Settings::has_automation_rules('convertkit'));
        $this->assertTrue(CrmHook_Settings::has_automation_rules('kit'));
        $this->assertFalse(CrmHook_Settings::has_automation_rules('activecampaign'));
        $this->assertFalse(CrmHook_Settings::has_automation_rules('hubspot'));
        $this->assertSame(5.0, CrmHook_Queue::documented_rate('activecampaign'));
        $this->assertSame(2.0, CrmHook_Queue::documented_rate('kit'));
        $this->assertEqualsWithDelta(4.5, CrmHook_Queue::rate('activecampaign'), 1e-9, '90 % of the documented limit');
    }

    public function testTheSettingsPageListsTheCrmsAndFormatsOfTheExtension(): void
    {
        wp_set_current_user(1);
        CrmHook_Settings::update(['crm' => 'keap', 'username_format' => 'flname']);
        ob_start();
        CrmHook_Admin::render();
        $html = (string) ob_get_clean();
        foreach (crmhook_crms() as $slug => $crm) {
            $this->assertStringContainsString('<option value="' . $slug . '"', $html);
            $this->assertStringContainsString('>' . esc_html($crm['label']) . '</option>', $html);
        }
        foreach (crmhook_username_formats() as $slug => $format) {
            $this->assertStringContainsString(esc_html($format['label'] . ' (' . $format['example'] . ')'), $html);
        }
        $this->assertStringContainsString('placeholder="https://api.infusionsoft.com/crm/rest"', $html);
        $this->assertStringContainsString('data-crms="fluentcrm funnelkit"', $html);
        $this->assertStringContainsString('contactId = ~Contact.Id~', $html);
        // A row per credential of the table, labelled with each CRM's own word for it.
        foreach (crmhook_crms() as $slug => $crm) {
            foreach ($crm['credentials'] as $key => $credential) {
                if ('api_url' !== $key) {
                    $this->assertStringContainsString('id="crmhook-' . $key . '"', $html);
                    $this->assertStringContainsString(esc_attr('"' . $slug . '":"' . $credential['label'] . '"'), $html);
                }
            }
        }
        $this->assertStringContainsString('>API key / Service account key (ActiveCampaign, Kit, Infusionsoft / Keap)</label>', $html);
        $this->assertStringContainsString('type="password" class="regular-text" id="crmhook-api_secret"', $html);
        $this->assertStringContainsString('type="text" class="regular-text" id="crmhook-username"', $html);
    }
}

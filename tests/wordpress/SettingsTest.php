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
}

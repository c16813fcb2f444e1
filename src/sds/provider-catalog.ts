/**
 * The School Data Sync OneRoster provider catalog, transcribed from Microsoft's "OneRoster API" SDS page
 * (shared/seeds/000_e14e1fe8016ca600.txt: the provider table and the per-vendor detail tables).
 *
 * This is typed data, not a parser: the seed is not shipped. Transcription rules:
 * - `TABLE` is the provider table, one tuple per row in the seed's order (46 rows), values exactly as
 *   the seed writes them. The one markup glitch (`MySchool](#myschool)`) is tidied to `MySchool`.
 * - `DETAILS` are the vendor detail tables, keyed by the provider id they belong to. The detail tables
 *   follow the provider table's order and name the vendor, which sometimes differs from the table name
 *   ("Aequitas Solutions, Inc" for Aequitas Q, "TeacherPlus Gradebook by Rediker Software" for Rediker
 *   Software). One mapping is an inference: the seed's "DataEum" table sits where "Eum School SIS" falls
 *   in the order and shares the "Eum" name, so it is filed under Eum School SIS.
 * - Unlabelled rows of a detail table (ClassLink's URL note, Infinite Campus's `period` note) are kept
 *   as `notes`; a trailing `|` in Informat's instructions is dropped.
 * - A vendor with a detail table but no table row (Informat) is kept with `status`, `classicStatus`
 *   and `supports` undefined ("not listed"): the seed states no status or capability for it, and none
 *   is invented.
 * - `custom` is our pseudo-provider for any other OneRoster 1.1 API: every capability allowed.
 */

/** A provider's status column: listed (`Yes`), available only to flighted tenants (`Test`), or `No`. */
export type SdsStatus = 'Yes' | 'Test' | 'No';
export const SDS_STATUSES: readonly SdsStatus[] = ['Yes', 'Test', 'No'];

/** The optional data pieces a provider profile may support (sds-notes §1.2). */
export const CAPABILITIES = ['contacts', 'demographics', 'userFlags'] as const;
export type Capability = (typeof CAPABILITIES)[number];
export type Capabilities = Readonly<Record<Capability, boolean>>;

/** Human labels of the capabilities, as the SDS page words them. */
export const CAPABILITY_LABELS: Readonly<Record<Capability, string>> = {
  contacts: 'contacts',
  demographics: 'demographics',
  userFlags: 'user flags',
};

/** One vendor detail table of the seed. Field texts are the seed's, unedited. */
export interface VendorDetails {
  /** "SIS Vendor" row. */
  vendor: string;
  /** "Minimum Version of Software". */
  minimumVersion?: string;
  /** "Configuration Prerequisites". */
  configurationPrerequisites?: string;
  /** "How to get Client ID, Client Secret, and URL(s)". */
  credentials?: string;
  /** "Specific Instructions". */
  specificInstructions?: string;
  /** "Help". */
  help?: string;
  /** Unlabelled rows of the table (notes the seed attaches to the vendor). */
  notes?: readonly string[];
}

/**
 * A provider-specific rule the seed states, checked by `connectionHints`:
 * - `base-url-contains`: the Web access URL must contain `text` (an `error` when it does not);
 * - `advice`: always shown for this provider (a `warning`).
 */
export type ProviderHint =
  | { kind: 'base-url-contains'; text: string; message: string }
  | { kind: 'advice'; message: string };

export interface Provider {
  /** Stable slug, e.g. `infinite-campus`. Never changes once published (it is stored in connections). */
  readonly id: string;
  /** Display name as in the seed's table (or the detail table's vendor name when unlisted). */
  readonly name: string;
  /** "SDS (Classic) status"; undefined when the provider is not in the table. */
  readonly classicStatus: SdsStatus | undefined;
  /** "SDS status" (new SDS); undefined when the provider is not in the table. */
  readonly status: SdsStatus | undefined;
  /** True for the 46 rows of the seed's table. */
  readonly listed: boolean;
  /** Optional data the provider profile supports; undefined when not listed (unknown). */
  readonly supports: Capabilities | undefined;
  readonly details: VendorDetails | undefined;
  readonly hints: readonly ProviderHint[];
  /** True only for the `custom` pseudo-provider. */
  readonly custom: boolean;
}

type YesNo = 'Yes' | 'No';
/** id, name, SDS (Classic) status, SDS status, contacts, demographics, user flags. */
type TableRow = readonly [string, string, SdsStatus, SdsStatus, YesNo, YesNo, YesNo];

const TABLE: readonly TableRow[] = [
  ['aequitas-q', 'Aequitas Q', 'Yes', 'Yes', 'Yes', 'Yes', 'No'],
  ['aeries', 'Aeries', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['arbor-education', 'Arbor Education', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['blackbaud-education-management', 'Blackbaud Education Management', 'Yes', 'Yes', 'Yes', 'Yes', 'No'],
  ['bubblecon', 'Bubblecon', 'No', 'Yes', 'No', 'No', 'No'],
  ['classlink', 'ClassLink', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['classter', 'Classter', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['cloudclass', 'CloudClass', 'No', 'Test', 'No', 'No', 'No'],
  ['edge-learning', 'Edge Learning', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['educate-by-community-brands', 'Educate by Community Brands', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['edulife-connect', 'Edulife Connect', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['eschooldata', 'eSchoolData', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['eschooling', 'eSchooling', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['eum-school-sis', 'Eum School SIS', 'No', 'Yes', 'Yes', 'Yes', 'No'],
  ['eventful', 'Eventful', 'Yes', 'Yes', 'Yes', 'No', 'No'],
  ['facts', 'FACTS', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['focus-school-software', 'Focus School Software', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['follett-aspen', 'Follett Aspen', 'Test', 'Test', 'No', 'No', 'No'],
  ['fujitsu', 'Fujitsu', 'No', 'Test', 'No', 'No', 'No'],
  ['furlong-schoolbase', 'Furlong Schoolbase', 'Yes', 'Yes', 'Yes', 'No', 'No'],
  ['inacap-api-sds', 'INACAP API SDS', 'Test', 'Test', 'No', 'No', 'No'],
  ['infinitas-learning', 'Infinitas Learning', 'Test', 'Test', 'No', 'No', 'No'],
  ['infinite-campus', 'Infinite Campus', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['inlogic', 'InLogic', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['isams', 'iSAMS', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['ist', 'IST', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['librus', 'Librus', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['michigan-data-hub', 'Michigan Data Hub', 'Test', 'Test', 'No', 'No', 'No'],
  ['myschool', 'MySchool', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['nexquare', 'Nexquare', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['nordiccloud', 'NordicCloud', 'Test', 'Yes', 'No', 'No', 'No'],
  ['realtime', 'Realtime', 'Test', 'Test', 'No', 'No', 'No'],
  ['rediker-software', 'Rediker Software', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['sims', 'SIMS', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['sentral', 'Sentral', 'Test', 'Yes', 'No', 'No', 'No'],
  ['skool', 'Skool', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['skyward', 'Skyward', 'Yes', 'Yes', 'No', 'Yes', 'No'],
  ['smartschool', 'SmartSchool', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['sycamore-school', 'Sycamore School', 'Test', 'Test', 'No', 'No', 'No'],
  ['synergy-sis', 'Synergy SIS', 'Yes', 'Yes', 'Yes', 'Yes', 'No'],
  ['trivium', 'Trivium', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['veracross', 'Veracross', 'Test', 'Yes', 'No', 'No', 'No'],
  ['vigilo', 'Vigilo', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['visma-inschool', 'Visma InSchool', 'Test', 'Yes', 'No', 'No', 'No'],
  ['vulcan-uonet', 'VULCAN UONET+', 'Yes', 'Yes', 'No', 'No', 'No'],
  ['zuria', 'Zuria', 'No', 'Test', 'Yes', 'Yes', 'No'],
];
/** Vendor detail tables, keyed by provider id (see the file comment for the name mapping). */
const DETAILS: Readonly<Record<string, VendorDetails>> = {
  'aequitas-q': {
    vendor: 'Aequitas Solutions, Inc',
    minimumVersion: 'Q 3.6.1, Q Web API 3.6.0',
    configurationPrerequisites: 'See Q Web API set up',
    credentials: 'See Q Web API set up',
    specificInstructions: 'N/A',
    help: 'Contact Support at (909) 946-1600',
  },
  aeries: {
    vendor: 'Aeries',
    minimumVersion: 'v8.18.6.29 or later',
    configurationPrerequisites: 'See OneRoster API Set Up.',
    credentials: 'Self-hosted. See OneRoster API Set Up.',
    specificInstructions: 'N/A',
    help: 'Contact Support at Phone (toll-free): (888) 324-5363 or support@aeries.com',
  },
  'arbor-education': {
    vendor: 'Arbor Education',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'The integration between Arbor MIS and SDS is enabled on your Arbor MIS. Contact your account manager at Arbor to make sure it\'s enabled via accountmanagers@arbor-education.com. You must have an Office 365 education tenant, global administrator permissions, and School Data Sync (Plan 1) enabled.',
    credentials: 'Generate in your Arbor MIS. Steps to complete are detailed in the Arbor Help Center.',
    specificInstructions: 'Contact Arbor or your dedicated support partner to help set up this integration via myteam@arbor-education.com.',
    help: 'Find support articles at Arbor\'s Help Centre. For questions, reach out to myteam@arbor-education.com or your dedicated support partner.',
  },
  'blackbaud-education-management': {
    vendor: 'Blackbaud Education Management',
    minimumVersion: 'The latest version of BEM is always available to users.',
    configurationPrerequisites: 'Not applicable',
    credentials: 'The step-by-step instructions are described here',
    specificInstructions: 'When selecting your mapping settings for your Microsoft Entra users, be sure your settings to include/exclude the domain suffix matches your Microsoft Entra usernames. This action ensures the best results when matching BEM students and teachers to your Microsoft Entra users.',
    help: 'support.blackbaud.com',
  },
  bubblecon: {
    vendor: 'Bubblecon',
    specificInstructions: 'Reachout to Bubblecon Customer support team.',
  },
  classlink: {
    vendor: 'ClassLink',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'Add the SDS app in the console. Select on Adding Applications & Modifying Permissions for instructions.',
    credentials: 'Customers can get their oAuth credentials from the console after they add the app. An email is to the developer at Microsoft that set up the app. Select on Adding Applications & Modifying Permissions to show the location to obtain the client ID and secret.',
    specificInstructions: 'N/A',
    help: 'E-mail rostersupport@classlink.com.',
    notes: ['If there are issues connecting, ensure that the Web Access URL has "/ims/oneroster/v1p1" to point to the correct connectors.'],
  },
  classter: {
    vendor: 'Classter',
    minimumVersion: 'All versions are supported',
    configurationPrerequisites: 'https://help.classter.com/kb/integration-with-sds/sds-integration-manual/',
    credentials: 'https://help.classter.com/kb/integration-with-sds/sds-integration-manual/',
    specificInstructions: 'https://help.classter.com/kb/integration-with-sds/sds-integration-manual/',
    help: 'support@classter.com',
  },
  'edge-learning': {
    vendor: 'Edge Learning',
    minimumVersion: 'Edge is a web application, there\'s no minimum version required.',
    configurationPrerequisites: 'Available through “Help” in the Edge application Microsoft School Data Sync via OneRoster',
    credentials: 'Available through “Help” in the Edge application Microsoft School Data Sync via OneRoster',
    specificInstructions: 'Available through “Help” in the Edge application Microsoft School Data Sync via OneRoster',
    help: 'Available through “Help” in the Edge application Microsoft School Data Sync via OneRoster',
  },
  'educate-by-community-brands': {
    vendor: 'Educate by Community Brands',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'N/A',
    credentials: 'Contact customer support.',
    specificInstructions: 'Contact customer support.',
    help: 'For support, contact educate_support@communitybrands.com.',
  },
  'edulife-connect': {
    vendor: 'Edulife Connect',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'N/A',
    credentials: 'Done directly in contact with our deployment and support team.',
    specificInstructions: 'N/A',
    help: 'Contact support at support@wizkids.co.uk. // 020 7550 9286',
  },
  eschooldata: {
    vendor: 'eSchoolData',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'Districts must be subscribers of the eSD GURU product.',
    credentials: 'See specific instructions.',
    specificInstructions: 'In order to enable an API integration with SDS, district administrators must first create a vendor account within GURU. Navigate to Configuration > Vendors and select Create New Vendor. Enter a Vendor Name and retain the Client ID and Client Secret that are automatically generated. Provide, along with your regional GURU API URL, when configuring the SDS integration. Select Next and enable all OneRoster API permissions. Select Finish when complete to save the new account.',
    help: 'For questions, contact your eSchoolData support team.',
  },
  eschooling: {
    vendor: 'eSchooling by Codevision',
    minimumVersion: '1.1.20',
    configurationPrerequisites: 'None',
    credentials: 'Follow directions in eSchooling platform: System Administration > School Data Sync',
    specificInstructions: 'Same as prior',
    help: 'Contact suporte@codevision.pt',
  },
  'eum-school-sis': {
    vendor: 'DataEum',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'None',
    credentials: 'Email customer support to request OneRoster API credentials.',
    specificInstructions: 'Contact customer support pbd@dataeum.kr',
    help: 'Contact customer support pbd@dataeum.kr',
  },
  eventful: {
    vendor: 'Eventful',
    minimumVersion: 'A list of supported student registers can be found at Eventful OneRoster.',
    configurationPrerequisites: 'Reach out to Eventful by email at info@eventful.se or by phone at (+46) 10 209 9001',
    credentials: 'Provided in the setup process.',
    specificInstructions: 'N/A',
    help: 'Contact Eventful Support by email at info@eventful.se or by phone at (+46) 10 209 9001',
  },
  facts: {
    vendor: 'FACTS',
    minimumVersion: 'Not applicable. Latest version is always available to customers.',
    configurationPrerequisites: 'Not applicable',
    credentials: 'Customers sign up for OneRoster API and FACTS provides this information to them.',
    specificInstructions: 'From within the SIS, go to System > Configuration > SIS Integrations > OneRoster API > Fill out form.',
    help: 'Customer Support 866-800-6593',
  },
  'focus-school-software': {
    vendor: 'Focus School Software',
    minimumVersion: 'Focus v 8.7',
    configurationPrerequisites: 'N/A',
    credentials: 'From the Focus portal screen, Setup > System Setup > Third Party Systems. On the record insert row, enter, Title: Microsoft Version 1.0 > Dialect: OneRoster. Upon saving, the URL, Client ID and client secret are generated.',
    specificInstructions: 'N/A',
    help: 'Call Focus\' phone support line at 877-410-6637.',
  },
  'follett-aspen': {
    vendor: 'Follett Aspen',
    minimumVersion: 'Latest version of Aspen, 5.9',
    configurationPrerequisites: 'N/A',
    credentials: 'Contact the Customer Relationship Manager for your district to schedule the upgrade.',
    specificInstructions: 'N/A',
    help: 'Contact your Customer Relationship Manager for help.',
  },
  'furlong-schoolbase': {
    vendor: 'Furlong Schoolbase',
    minimumVersion: 'Hosted schools only using the latest version',
    configurationPrerequisites: 'N/A',
    credentials: 'Instructions can be found here.',
    specificInstructions: 'N/A',
    help: 'Open a ticket with Furlong.',
  },
  'inacap-api-sds': {
    vendor: 'INACAP SDS API',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'N/A',
    credentials: 'On-premises System for INACAP, contact sistemas@inacap.cl if necessary.',
    specificInstructions: 'N/A',
    help: 'Contact INACAP Support by email at sistemas@inacap.cl.',
  },
  informat: {
    vendor: 'Informat',
    minimumVersion: 'N/A',
    configurationPrerequisites: 'N/A',
    credentials: 'Client ID and Client Secret will be provided after completing the intake form',
    specificInstructions: 'Detailed instructions are available on https://helpdesk.informat.be/hc/nl/articles/5365008451858-Koppeling-Office-365',
    help: 'Contact Informat Helpdesk at https://helpdesk.informat.be/hc/nl',
  },
  'infinite-campus': {
    vendor: 'Infinite Campus',
    minimumVersion: 'For roster provisioning, the minimum version is Campus.1821.',
    configurationPrerequisites: 'Creating an OAuth Client',
    credentials: 'Sign in and find latest product documentation for the oAuth configuration screen can be found at OneRoster guidance for Infinite Campus',
    specificInstructions: 'Prior to V 1933.3 - Go to the Infinite Campus user interface >> select System Administration >> select Campus Learning >> select OneRoster Tools >> select on OneRoster. Version 1933.3 and later - Go to the Infinite Campus user interface >> select System Administration >> select Learning Interoperability',
    help: 'For Help, contact your Customer Success Manager.',
    notes: ['When selecting attributes within Infinite Campus to sync, ensure that period is not selected. If it\'s selected, there\'s a possibility it generates a large number of errors when syncing and lock the profile in quarantine.'],
  },
  inlogic: {
    vendor: 'inLogic',
    minimumVersion: 'V7.7.510',
    configurationPrerequisites: 'N/A',
    credentials: 'There\'s a wiki page for the customer InLogic and Teams integration.',
    specificInstructions: 'More instructions to help or get SDS setup with the SIS can be found at InLogic and Teams integration.',
    help: 'For e-mail support, go to support@inlogic.dk, for Phone support, +45 42 40 88 15, and web support, https://www.inlogic.dk/support/.',
  },
  isams: {
    vendor: 'iSAMS by IRIS',
    minimumVersion: '21.4.23.12',
    configurationPrerequisites: 'None',
    credentials: 'You should email helpdesk requesting OneRoster API credentials at helpdesk@isams.co.uk',
    specificInstructions: 'None',
    help: 'Contact iSAMS Helpdesk to ask for help document at helpdesk@isams.co.uk.',
  },
  ist: {
    vendor: 'IST',
    minimumVersion: 'Not applicable.',
    configurationPrerequisites: 'See specific instructions.',
    credentials: 'See specific instructions.',
    specificInstructions: 'Information for setup is provided privately.',
    help: 'For questions, contact your IST support team.',
  },
  librus: {
    vendor: 'LIBRUS',
    minimumVersion: 'Current version',
    configurationPrerequisites: 'Client must have a license for LIBRUS Synergia',
    credentials: 'To enable an API integration with SDS, you must be logged in as an administrator or school principal. Navigate to Settings > Configuration > Other options > Office 365 Integration',
    specificInstructions: 'Detailed instructions are available in the help section.',
    help: 'Contact our support team at pomoc@LIBRUS.pl',
  },
  myschool: {
    vendor: 'MySchool Ltd',
    minimumVersion: 'Not applicable',
    configurationPrerequisites: 'Initial setup of the MySchool system assisted through support team.',
    credentials: 'Assisted through support team.',
    specificInstructions: 'Support can be found here',
    help: 'Contact us',
  },
  'rediker-software': {
    vendor: 'TeacherPlus Gradebook by Rediker Software',
    minimumVersion: '1.12.0.0',
    configurationPrerequisites: 'None. OneRoster integration is enabled for all the schools by default.',
    credentials: 'Autogenerated by the program when a new school has been created. Admin can manage user settings through the Gradebook Manager application.',
    specificInstructions: 'None',
    help: 'Questions can be directed to GBSupport@rediker.com or APSupport@rediker.com',
  },
  sims: {
    vendor: 'SIMS by Education Software Solutions',
    minimumVersion: 'SIMS 7 Summer 2019 or later',
    configurationPrerequisites: 'A SIMS ID account is required.',
    credentials: 'Use this support link for SDS',
    specificInstructions: 'See https://id.sims.co.uk/support/wiki/136',
    help: 'See https://id.sims.co.uk/support/',
  },
  skool: {
    vendor: 'Skool',
    minimumVersion: 'Miloo+ service is required to enable School Data Sync',
    configurationPrerequisites: 'Contact your Account Manager with Skool to set up and enable SDS.',
    credentials: 'N/A',
    specificInstructions: 'N/A',
    help: 'Contact Skool support at (+31) 40 750 77 77 or by email at servicedesk@skool.nl.',
  },
  skyward: {
    vendor: 'Skyward',
    minimumVersion: '05.20.10.00.10',
    configurationPrerequisites: 'The Skyward API must be installed. The API is a separate IIS web application from the main Skyward application.',
    credentials: 'This document shows how to set up the API and generate a key and secret',
    specificInstructions: 'Specific instructions can be found in this document',
    help: 'Submit a service call within https://support.skyward.com',
  },
  smartschool: {
    vendor: 'SmartSchool',
    minimumVersion: 'Product is a SaaS solution, all clients have the latest version',
    configurationPrerequisites: 'No specific prerequisites',
    credentials: 'In the software, go to ‘General Configuration’, ‘OneRoster clients’, and follow the instructions there.',
    specificInstructions: 'N/A',
    help: 'Customers can contact SmartSchool by known support channels.',
  },
  'synergy-sis': {
    vendor: 'Synergy SIS by Edupoint',
    minimumVersion: '2022',
    configurationPrerequisites: 'OneRoster API License Key',
    credentials: 'Contact Edupoint support',
    specificInstructions: 'N/A',
    help: 'https://support.edupoint.com/',
  },
  trivium: {
    vendor: 'Trivium',
    minimumVersion: '1.0',
    configurationPrerequisites: 'Contact Trivium - Microsoft Partner for configuration.',
    credentials: 'Contact Trivium - Microsoft Partner to generate Client ID and Secret.',
    specificInstructions: 'None',
    help: 'https://www.trivium.com.br/contato/ and suporte@trivium.com.br',
  },
  vigilo: {
    vendor: 'Vigilo',
    minimumVersion: 'None',
    configurationPrerequisites: 'None',
    credentials: 'Contact Vigilo.',
    specificInstructions: 'None',
    help: 'Contact Vigilo for support through the process.',
  },
  'visma-inschool': {
    vendor: 'Visma Enterprise AS',
    minimumVersion: 'None',
    configurationPrerequisites: 'None',
    credentials: 'Contact Visma Support',
    specificInstructions: 'Contact Visma Support',
    help: 'Contact Visma Support at https://inschool.zendesk.com.',
  },
  'vulcan-uonet': {
    vendor: 'VULCAN UONET+',
    minimumVersion: 'Current',
    configurationPrerequisites: 'Client must have a license for UONET+',
    credentials: 'From the VULCAN Admin portal; Select “Configuration” > “Office 365 settings” > API exchange configuration. Enable “Synchronization with Office 365”. On this tab, you receive the Client ID, Client Secret, and URL(s).',
    specificInstructions: 'N/A',
    help: 'Contact Support at https://vulcan.edu.pl during standard office hours.',
  },
};

/** Path every OneRoster 1.1 API root ends in; ClassLink's note insists on it. */
const V1P1_PATH = '/ims/oneroster/v1p1';

/** Provider-specific hints the seed states (its detail tables), by provider id. */
const HINTS: Readonly<Record<string, readonly ProviderHint[]>> = {
  // ClassLink table, unlabelled row: "ensure that the Web Access URL has "/ims/oneroster/v1p1" to point to
  // the correct connectors".
  classlink: [
    {
      kind: 'base-url-contains',
      text: V1P1_PATH,
      message: `ClassLink's Web access URL must contain "${V1P1_PATH}" to point to the correct connectors; copy the OneRoster URL from the ClassLink console including that path.`,
    },
  ],
  // Infinite Campus table, unlabelled row: a selected `period` attribute can generate a large number of
  // errors and lock the profile in quarantine.
  'infinite-campus': [
    {
      kind: 'advice',
      message: 'Infinite Campus: when selecting the attributes to sync in Infinite Campus, make sure "period" is not selected; if it is, syncing can generate a large number of errors and lock the profile in quarantine.',
    },
  ],
  // Blackbaud table, Specific Instructions: the domain-suffix mapping must match Entra usernames.
  'blackbaud-education-management': [
    {
      kind: 'advice',
      message: 'Blackbaud Education Management: in the mapping settings for Microsoft Entra users, make sure the include/exclude domain suffix setting matches your Microsoft Entra usernames, so BEM students and teachers match their Entra users.',
    },
  ],
};

function capabilities(contacts: YesNo, demographics: YesNo, userFlags: YesNo): Capabilities {
  return Object.freeze({ contacts: contacts === 'Yes', demographics: demographics === 'Yes', userFlags: userFlags === 'Yes' });
}

function freezeProvider(p: Provider): Provider {
  if (p.details !== undefined) Object.freeze(p.details);
  Object.freeze(p.hints);
  return Object.freeze(p);
}

function buildProviders(): readonly Provider[] {
  const out: Provider[] = [];
  const used = new Set<string>();
  for (const [id, name, classicStatus, status, contacts, demographics, userFlags] of TABLE) {
    used.add(id);
    out.push(freezeProvider({
      id, name, classicStatus, status, listed: true,
      supports: capabilities(contacts, demographics, userFlags),
      details: DETAILS[id], hints: HINTS[id] ?? [], custom: false,
    }));
  }
  // Detail-only vendors (Informat): kept, with nothing the seed does not state.
  for (const [id, details] of Object.entries(DETAILS)) {
    if (used.has(id)) continue;
    out.push(freezeProvider({
      id, name: details.vendor, classicStatus: undefined, status: undefined, listed: false,
      supports: undefined, details, hints: HINTS[id] ?? [], custom: false,
    }));
  }
  out.push(CUSTOM_PROVIDER);
  return Object.freeze(out);
}

/** Any OneRoster 1.1 API not in the catalog: every optional-data toggle is allowed. */
export const CUSTOM_PROVIDER: Provider = freezeProvider({
  id: 'custom',
  name: 'Custom OneRoster 1.1 API',
  classicStatus: undefined,
  status: undefined,
  listed: false,
  supports: Object.freeze({ contacts: true, demographics: true, userFlags: true }),
  details: undefined,
  hints: [],
  custom: true,
});

/** Every provider: the 46 table rows in the seed's order, then detail-only vendors, then `custom`. */
export const PROVIDERS: readonly Provider[] = buildProviders();

const BY_KEY: ReadonlyMap<string, Provider> = (() => {
  const m = new Map<string, Provider>();
  // Later keys never override earlier ones: ids first, then display names, then vendor names.
  for (const p of PROVIDERS) m.set(p.id, p);
  for (const p of PROVIDERS) if (!m.has(p.name.toLowerCase())) m.set(p.name.toLowerCase(), p);
  for (const p of PROVIDERS) {
    const v = p.details?.vendor.toLowerCase();
    if (v !== undefined && !m.has(v)) m.set(v, p);
  }
  return m;
})();

function slugify(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * Finds a provider by id, table name or vendor name, case-insensitively and ignoring surrounding
 * blanks (`"infinite campus"`, `"Infinite-Campus"`, `"LIBRUS"`, `"DataEum"` all work).
 */
export function findProvider(nameOrId: string): Provider | undefined {
  const key = nameOrId.trim().toLowerCase();
  if (key === '') return undefined;
  return BY_KEY.get(key) ?? BY_KEY.get(slugify(key));
}

export interface ProviderFilter {
  /** SDS status; `not-listed` selects providers absent from the table. A list means any of them. */
  status?: SdsStatus | 'not-listed' | readonly (SdsStatus | 'not-listed')[];
  /** SDS (Classic) status, same forms. */
  classicStatus?: SdsStatus | 'not-listed' | readonly (SdsStatus | 'not-listed')[];
  /** Capabilities the provider must all support. */
  supports?: Capability | readonly Capability[];
  /** Include the `custom` pseudo-provider (it supports everything and has no status). Default false. */
  includeCustom?: boolean;
}

function statusMatches(actual: SdsStatus | undefined, wanted: ProviderFilter['status']): boolean {
  if (wanted === undefined) return true;
  const list: readonly (SdsStatus | 'not-listed')[] = typeof wanted === 'string' ? [wanted] : wanted;
  return list.includes(actual ?? 'not-listed');
}

/** Providers matching every given criterion, in catalog order. */
export function filterProviders(filter: ProviderFilter = {}): Provider[] {
  const caps: readonly Capability[] = filter.supports === undefined ? [] : typeof filter.supports === 'string' ? [filter.supports] : filter.supports;
  return PROVIDERS.filter((p) => {
    if (p.custom) return filter.includeCustom === true && filter.status === undefined && filter.classicStatus === undefined;
    if (!statusMatches(p.status, filter.status)) return false;
    if (!statusMatches(p.classicStatus, filter.classicStatus)) return false;
    for (const c of caps) if (p.supports?.[c] !== true) return false;
    return true;
  });
}

/** A status as shown to people: the seed's word, or "not listed". */
export function statusLabel(status: SdsStatus | undefined): string {
  return status ?? 'not listed';
}

function wrap(text: string, indent: string, width = 100): string[] {
  const words = text.split(/\s+/).filter((w) => w !== '');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line !== '' && indent.length + line.length + 1 + w.length > width) {
      lines.push(indent + line);
      line = w;
    } else line = line === '' ? w : `${line} ${w}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

/**
 * A readable plain-text setup guide for one provider (`rostersync providers show NAME`): statuses,
 * optional data, the vendor's details from the seed, the hints, and what the connection needs.
 */
export function formatSetupGuide(provider: Provider): string {
  const out: string[] = [];
  const field = (label: string, value: string | undefined): void => {
    if (value === undefined) return;
    out.push(`${label}:`);
    out.push(...wrap(value, '  '));
  };
  out.push(`${provider.name} (id: ${provider.id})`);
  out.push('='.repeat(Math.min(100, provider.name.length + provider.id.length + 7)));
  if (provider.custom) {
    out.push('Any OneRoster 1.1 REST API that is not in the SDS provider list.');
    out.push('Optional data: contacts, demographics and user flags can all be turned on; the API must serve them.');
  } else {
    out.push(`SDS status: ${statusLabel(provider.status)}    SDS (Classic) status: ${statusLabel(provider.classicStatus)}`);
    if (provider.status === 'Test') {
      out.push(...wrap(`This provider is in Test: it can be chosen only once this installation is flighted for it (rostersync providers flight ${provider.id}), or after it is promoted locally following a successful provider check.`, ''));
    } else if (!provider.listed) {
      out.push(...wrap('This vendor has setup details on the SDS page but is not in its provider table; no status or optional-data support is stated. Connect it as the "custom" provider.', ''));
    }
    if (provider.supports !== undefined) {
      const s = provider.supports;
      out.push(`Optional data: ${CAPABILITIES.map((c) => `${CAPABILITY_LABELS[c]} ${s[c] ? 'yes' : 'no'}`).join(', ')}`);
    } else out.push('Optional data: not listed');
  }
  const d = provider.details;
  if (d !== undefined) {
    out.push('');
    field('SIS vendor', d.vendor);
    field('Minimum version of software', d.minimumVersion);
    field('Configuration prerequisites', d.configurationPrerequisites);
    field('How to get the client ID, client secret and URL(s)', d.credentials);
    field('Specific instructions', d.specificInstructions);
    field('Help', d.help);
    if (d.notes !== undefined && d.notes.length > 0) {
      out.push('Notes:');
      for (const n of d.notes) out.push(...wrap(n, '  - ').map((l, i) => (i === 0 ? l : `    ${l.slice(4)}`)));
    }
  } else if (!provider.custom) {
    out.push('', ...wrap('The SDS page gives no vendor details for this provider; ask the provider for its OneRoster API credentials.', ''));
  }
  if (provider.hints.length > 0) {
    out.push('', 'Checked when you connect:');
    for (const h of provider.hints) out.push(...wrap(h.message, '  - ').map((l, i) => (i === 0 ? l : `    ${l.slice(4)}`)));
  }
  out.push('', 'The connection needs:');
  out.push(`  - Web access URL: the root of the OneRoster API, ending in ${V1P1_PATH}`);
  out.push('  - Client ID and Client Secret of the OneRoster API');
  out.push('  - Access Token URL, when the API uses OAuth 2 (it is a different endpoint from the Web access URL)');
  return `${out.join('\n')}\n`;
}

export interface ConnectionFacts {
  /** The Web access URL as the admin entered it. */
  baseUrl: string;
  /** The Access Token URL (OAuth 2 only). */
  tokenUrl?: string;
}

export interface ConnectionHints {
  /** Problems that make the connection wrong for this provider (refuse to save it). */
  errors: string[];
  /** Things to show the admin (the connection is accepted). */
  warnings: string[];
}

function stripSlash(u: string): string {
  return u.trim().replace(/\/+$/, '');
}

/**
 * Provider-specific connection checks the seed states: ClassLink's URL must contain
 * `/ims/oneroster/v1p1` (error), Infinite Campus's `period` attribute and Blackbaud's domain-suffix
 * advice (warnings). For every provider: the Access Token URL must differ from the Web access URL
 * (the SDS page: "The endpoint is different from the Web access URL").
 */
export function connectionHints(provider: Provider, facts: ConnectionFacts): ConnectionHints {
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const h of provider.hints) {
    if (h.kind === 'advice') warnings.push(h.message);
    else if (!facts.baseUrl.includes(h.text)) {
      const caseOnly = facts.baseUrl.toLowerCase().includes(h.text.toLowerCase());
      errors.push(caseOnly ? `${h.message} (The URL has it in another letter case; write it exactly as "${h.text}".)` : h.message);
    }
  }
  if (facts.tokenUrl !== undefined && facts.tokenUrl.trim() !== '' && stripSlash(facts.tokenUrl) === stripSlash(facts.baseUrl)) {
    errors.push('The Access Token URL is the same as the Web access URL; the token endpoint is a different URL (for example …/oauth2/token). Check the provider\'s setup instructions.');
  }
  return { errors, warnings };
}

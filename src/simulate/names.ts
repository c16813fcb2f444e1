/**
 * Vocabularies for the district simulator: plain lists, no faker.
 *
 * Names are common given and family names drawn from several heritages so that rosters look like a
 * US public-school district; they are combined at random and identify nobody. Domains use the
 * reserved `.example` TLD and `example.com/.net/.org` (RFC 2606), so no generated email address
 * can reach a real mailbox. Phone numbers are built elsewhere from the fictional 555-01xx range.
 */

export const GIVEN_NAMES_FEMALE: readonly string[] = [
  'Olivia', 'Emma', 'Charlotte', 'Amelia', 'Sophia', 'Mia', 'Isabella', 'Ava', 'Evelyn', 'Luna',
  'Harper', 'Sofia', 'Camila', 'Eleanor', 'Elizabeth', 'Violet', 'Scarlett', 'Emily', 'Hazel', 'Lily',
  'Gianna', 'Aurora', 'Penelope', 'Aria', 'Nora', 'Chloe', 'Ellie', 'Mila', 'Avery', 'Layla',
  'Abigail', 'Ella', 'Isla', 'Eliana', 'Nova', 'Madison', 'Zoe', 'Ivy', 'Grace', 'Lucy',
  'Willow', 'Emilia', 'Riley', 'Naomi', 'Victoria', 'Stella', 'Elena', 'Hannah', 'Valentina', 'Maya',
  'Zoey', 'Delilah', 'Leah', 'Lainey', 'Lillian', 'Paisley', 'Genesis', 'Madelyn', 'Sadie', 'Sophie',
  'Aaliyah', 'Ximena', 'Fatima', 'Priya', 'Ananya', 'Mei', 'Yuna', 'Linh', 'Amara', 'Zainab',
  'Imani', 'Nia', 'Keisha', 'Guadalupe', 'Daniela', 'Mariana', 'Lucia', 'Aisha', 'Hana', 'Sakura',
];

export const GIVEN_NAMES_MALE: readonly string[] = [
  'Liam', 'Noah', 'Oliver', 'James', 'Elijah', 'Mateo', 'Theodore', 'Henry', 'Lucas', 'William',
  'Benjamin', 'Levi', 'Sebastian', 'Jack', 'Ezra', 'Michael', 'Daniel', 'Leo', 'Owen', 'Samuel',
  'Hudson', 'Alexander', 'Asher', 'Luca', 'Ethan', 'John', 'David', 'Jackson', 'Joseph', 'Mason',
  'Luke', 'Matthew', 'Julian', 'Dylan', 'Elias', 'Jacob', 'Maverick', 'Gabriel', 'Logan', 'Aiden',
  'Thomas', 'Isaac', 'Miles', 'Grayson', 'Santiago', 'Anthony', 'Wyatt', 'Carter', 'Jayden', 'Ezekiel',
  'Caleb', 'Cooper', 'Josiah', 'Charles', 'Christopher', 'Isaiah', 'Nolan', 'Cameron', 'Nathan', 'Joshua',
  'Diego', 'Carlos', 'Jose', 'Arjun', 'Rohan', 'Wei', 'Hiroshi', 'Minh', 'Omar', 'Yusuf',
  'Malik', 'Jamal', 'Andre', 'Kwame', 'Tariq', 'Rafael', 'Emiliano', 'Kenji', 'Jun', 'Ibrahim',
];

export const FAMILY_NAMES: readonly string[] = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez',
  'Hernandez', 'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin',
  'Lee', 'Perez', 'Thompson', 'White', 'Harris', 'Sanchez', 'Clark', 'Ramirez', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Torres', 'Nguyen', 'Hill', 'Flores',
  'Green', 'Adams', 'Nelson', 'Baker', 'Hall', 'Rivera', 'Campbell', 'Mitchell', 'Carter', 'Roberts',
  'Gomez', 'Phillips', 'Evans', 'Turner', 'Diaz', 'Parker', 'Cruz', 'Edwards', 'Collins', 'Reyes',
  'Stewart', 'Morris', 'Morales', 'Murphy', 'Cook', 'Rogers', 'Gutierrez', 'Ortiz', 'Morgan', 'Cooper',
  'Peterson', 'Bailey', 'Reed', 'Kelly', 'Howard', 'Ramos', 'Kim', 'Cox', 'Ward', 'Richardson',
  'Watson', 'Brooks', 'Chavez', 'Wood', 'James', 'Bennett', 'Gray', 'Mendoza', 'Ruiz', 'Hughes',
  'Price', 'Alvarez', 'Castillo', 'Sanders', 'Patel', 'Myers', 'Long', 'Ross', 'Foster', 'Jimenez',
  'Chen', 'Wang', 'Li', 'Zhang', 'Liu', 'Tran', 'Pham', 'Le', 'Park', 'Choi',
  'Singh', 'Kumar', 'Shah', 'Khan', 'Ali', 'Ahmed', 'Hassan', 'Okafor', 'Mensah', 'Diallo',
  "O'Brien", 'Sullivan', 'Murray', 'Kowalski', 'Novak', 'Schmidt', 'Muller', 'Rossi', 'Russo', 'Silva',
  'Santos', 'Yamamoto', 'Tanaka', 'Sato', 'Nakamura', 'Haddad', 'Nasser', 'Cohen', 'Levy', 'Friedman',
  'Washington', 'Jefferson', 'Banks', 'Coleman', 'Simmons', 'Bryant', 'Alexander', 'Russell', 'Griffin', 'Hayes',
  'Vargas', 'Castro', 'Romero', 'Herrera', 'Medina', 'Aguilar', 'Vasquez', 'Soto', 'Delgado', 'Pena',
  'Fischer', 'Weber', 'Becker', 'Hoffman', 'Larsen', 'Nielsen', 'Johansson', 'Lindqvist', 'Ivanov', 'Petrov',
  'Bianchi', 'Greco', 'Dubois', 'Moreau', 'Fontaine', 'Byrne', 'Walsh', 'Doyle', 'Quinn', 'Gallagher',
];

/** Place words for district and school names ("Maplewood Unified School District", "Cedar Ridge Elementary"). */
export const PLACE_NAMES: readonly string[] = [
  'Maplewood', 'Riverside', 'Fairview', 'Cedar Ridge', 'Oak Grove', 'Lakeside', 'Pine Hill', 'Brookfield',
  'Springdale', 'Highland', 'Westbrook', 'Eastwood', 'Northgate', 'Southport', 'Clearwater', 'Stonebridge',
  'Willow Creek', 'Silver Lake', 'Meadowbrook', 'Hillcrest', 'Sunnyvale', 'Greenfield', 'Ashford', 'Bayview',
  'Cloverdale', 'Foxborough', 'Glenwood', 'Harbor View', 'Ironwood', 'Juniper', 'Kingsley', 'Laurel Park',
  'Millbrook', 'Newport', 'Orchard Hill', 'Parkside', 'Quail Run', 'Redwood', 'Sagebrush', 'Timberline',
  'Union Hill', 'Valley View', 'Whispering Pines', 'Aspen', 'Birchwood', 'Canyon', 'Deer Park', 'Elmhurst',
  'Forest Hills', 'Granite Falls', 'Heritage', 'Indian Springs', 'Jasper', 'Kestrel', 'Liberty', 'Mesa Verde',
  'Mountain View', 'Prairie', 'Rolling Hills', 'Sequoia', 'Summit', 'Sycamore', 'Thornton', 'Vista',
];

/** People and things schools are often named for. */
export const SCHOOL_NAMESAKES: readonly string[] = [
  'Lincoln', 'Washington', 'Jefferson', 'Roosevelt', 'Kennedy', 'Franklin', 'Madison', 'Adams', 'Monroe',
  'Jackson', 'Hamilton', 'King', 'Chavez', 'Parks', 'Tubman', 'Douglass', 'Earhart', 'Curie', 'Edison',
  'Carver', 'Keller', 'Whitman', 'Twain', 'Frost', 'Emerson', 'Thoreau', 'Muir', 'Audubon', 'Ride',
  'Armstrong', 'Hopper', 'Lovelace', 'Mendez', 'Huerta', 'Bethune', 'Marshall', 'Sotomayor', 'Ochoa',
];

export const US_STATES: readonly string[] = [
  'AL', 'AK', 'AZ', 'AR', 'CA', 'CO', 'CT', 'DE', 'FL', 'GA', 'HI', 'ID', 'IL', 'IN', 'IA', 'KS', 'KY',
  'LA', 'ME', 'MD', 'MA', 'MI', 'MN', 'MS', 'MO', 'MT', 'NE', 'NV', 'NH', 'NJ', 'NM', 'NY', 'NC', 'ND',
  'OH', 'OK', 'OR', 'PA', 'RI', 'SC', 'SD', 'TN', 'TX', 'UT', 'VT', 'VA', 'WA', 'WV', 'WI', 'WY',
];

export const BIRTH_CITIES: readonly string[] = [
  'Springfield', 'Riverside', 'Franklin', 'Greenville', 'Fairview', 'Madison', 'Georgetown', 'Salem',
  'Clinton', 'Arlington', 'Ashland', 'Burlington', 'Manchester', 'Milton', 'Oxford', 'Dayton',
];

/** ISO 3166-1 alpha-2 codes for students born abroad, weighted towards common US immigrant origins. */
export const BIRTH_COUNTRIES: readonly string[] = ['MX', 'IN', 'CN', 'PH', 'SV', 'VN', 'GT', 'CU', 'DO', 'KR', 'HN', 'CA'];

/** Email domains for contacts: RFC 2606 reserved, never deliverable. */
export const CONTACT_EMAIL_DOMAINS: readonly string[] = ['example.com', 'example.net', 'example.org'];

/**
 * North American area codes used for contact phones. Every `+1 <area> 555 01xx` number built from
 * these passes `libphonenumber-js/max` `isValidPhoneNumber` (tested in generator.test.ts); 555-0100
 * to 555-0199 is the range reserved for fiction, so no real subscriber is ever generated.
 */
export const AREA_CODES: readonly number[] = [
  201, 202, 203, 205, 206, 207, 208, 210, 212, 213, 214, 215, 216, 217, 218, 219, 224, 225, 228, 229,
  231, 234, 239, 240, 248, 251, 252, 253, 254, 256, 260, 262, 267, 269, 270, 281, 301, 302, 303, 304,
  305, 307, 308, 309, 310, 312, 313, 314, 315, 316, 317, 318, 319, 320, 321, 323, 330, 334, 336, 337,
  347, 352, 360, 361, 385, 386, 401, 402, 404, 405, 406, 407, 408, 409, 410, 412, 413, 414, 415, 417,
  419, 423, 424, 425, 430, 432, 434, 435, 440, 443, 469, 478, 479, 480, 484, 501, 502, 503, 504, 505,
  507, 508, 509, 510, 512, 513, 515, 516, 517, 518, 520, 530, 540, 541, 551, 559, 561, 562, 563, 567,
  570, 571, 573, 574, 575, 580, 585, 586, 601, 602, 603, 605, 606, 607, 608, 609, 610, 612, 614, 615,
  616, 617, 618, 619, 620, 623, 626, 630, 631, 636, 641, 646, 650, 651, 660, 661, 662, 678, 682, 701,
  702, 703, 704, 706, 707, 708, 712, 713, 714, 715, 716, 717, 718, 719, 720, 724, 727, 731, 732, 734,
  740, 754, 757, 760, 763, 765, 770, 772, 773, 774, 775, 781, 785, 786, 801, 802, 803, 804, 805, 806,
  808, 810, 812, 813, 814, 815, 816, 817, 818, 828, 830, 831, 832, 843, 845, 847, 848, 850, 856, 857,
  858, 859, 860, 862, 863, 864, 865, 870, 872, 901, 903, 904, 906, 907, 908, 909, 910, 912, 913, 914,
  915, 916, 917, 918, 919, 920, 925, 928, 931, 936, 937, 940, 941, 949, 951, 952, 954, 956, 970, 971,
  972, 973, 978, 979, 980, 985, 989,
];

/** Lower-case ASCII letters only, for usernames and email local parts ("O'Brien" → "obrien"). */
export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z]/g, '');
}

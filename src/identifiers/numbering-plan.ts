// Kazakh numbering plan under +7 as data (DOMAIN-FACTS §1.1–1.4). Prefixes are on the
// 10-digit national significant number (NSN); the longest matching prefix wins.

export type NumberType = 'mobile' | 'geographic' | 'non_geographic' | 'voip' | 'toll_free' | 'personal' | 'premium';

export interface NumberRange {
  prefix: string;
  type: NumberType;
  /** Original-assignment carrier label; numbers are portable, so only a hint. */
  operatorHint?: string;
  /** Region or zone served, geographic ranges only. */
  area?: string;
  /** City, set when the prefix is that city's area code. */
  city?: string;
}

function mobile(prefix: string, operatorHint: string): NumberRange {
  return { prefix, type: 'mobile', operatorHint };
}

function zone(prefix: string, area: string): NumberRange {
  return { prefix, type: 'geographic', area };
}

function city(prefix: string, area: string, name: string): NumberRange {
  return { prefix, type: 'geographic', area, city: name };
}

/**
 * Mobile prefixes follow libphonenumber's pattern 7(0[0-25-8]|47|6[0-4]|7[15-8]|85) with the
 * v9.0.35 carrier labels (§1.3). 703, 704, 709, 770, 772–774 and 779 are deliberately absent.
 */
export const KZ_NUMBERING_PLAN: readonly NumberRange[] = [
  mobile('700', 'Tele2'),
  mobile('701', 'Kcell/Activ'),
  mobile('702', 'Kcell/Activ'),
  mobile('705', 'Beeline'),
  mobile('706', 'Beeline'),
  mobile('707', 'Tele2'),
  mobile('708', 'Tele2'),
  mobile('747', 'Tele2'),
  mobile('760', 'Kulan'),
  mobile('761', 'Tele2'),
  mobile('762', 'Nursat'),
  mobile('763', 'Arna'),
  mobile('764', '2Day Telecom'),
  mobile('771', 'Beeline'),
  mobile('775', 'Kcell/Activ'),
  mobile('776', 'Beeline'),
  mobile('777', 'Beeline'),
  mobile('778', 'Kcell/Activ'),
  mobile('785', 'Darkhan Telecom'),

  // §1.2: 75x/76x non-geographic, 751 VoIP; 760–764 above are mobile.
  { prefix: '75', type: 'non_geographic' },
  { prefix: '751', type: 'voip' },
  { prefix: '76', type: 'non_geographic' },

  // §1.2: shared 8xx codes defined by Kazakhstan.
  { prefix: '800', type: 'toll_free' },
  { prefix: '808', type: 'personal' },
  { prefix: '809', type: 'premium' },

  // §1.4 zones (710–718, 721–729).
  zone('710', 'Karaganda (Zhezkazgan/Ulytau)'),
  zone('711', 'West Kazakhstan'),
  zone('712', 'Atyrau'),
  zone('713', 'Aktobe'),
  zone('714', 'Kostanay'),
  zone('715', 'North Kazakhstan'),
  zone('716', 'Akmola'),
  zone('717', 'Astana'),
  zone('718', 'Pavlodar'),
  zone('721', 'Karaganda'),
  zone('722', 'East Kazakhstan (Semey)'),
  zone('723', 'East Kazakhstan (Oskemen)'),
  zone('724', 'Kyzylorda'),
  zone('725', 'Shymkent/Turkistan'),
  zone('726', 'Jambyl'),
  city('727', 'Almaty and region', 'Almaty'),
  zone('728', 'Taldykorgan area'),
  zone('729', 'Mangystau'),

  // §1.4 city area codes.
  city('7102', 'Karaganda (Zhezkazgan/Ulytau)', 'Zhezkazgan'),
  city('71036', 'Karaganda (Zhezkazgan/Ulytau)', 'Balkhash'),
  city('7112', 'West Kazakhstan', 'Oral'),
  city('7122', 'Atyrau', 'Atyrau'),
  city('7132', 'Aktobe', 'Aktobe'),
  city('7142', 'Kostanay', 'Kostanay'),
  city('71431', 'Kostanay', 'Rudny'),
  city('7152', 'North Kazakhstan', 'Petropavl'),
  city('7162', 'Akmola', 'Kokshetau'),
  city('7172', 'Astana', 'Astana'),
  city('7182', 'Pavlodar', 'Pavlodar'),
  city('7187', 'Pavlodar', 'Ekibastuz'),
  city('7212', 'Karaganda', 'Karaganda'),
  city('7213', 'Karaganda', 'Temirtau'),
  city('7222', 'East Kazakhstan (Semey)', 'Semey'),
  city('7232', 'East Kazakhstan (Oskemen)', 'Oskemen'),
  city('7242', 'Kyzylorda', 'Kyzylorda'),
  city('7252', 'Shymkent/Turkistan', 'Shymkent'),
  city('72533', 'Shymkent/Turkistan', 'Turkistan'),
  city('7262', 'Jambyl', 'Taraz'),
  city('72772', 'Almaty and region', 'Konaev'),
  city('7282', 'Taldykorgan area', 'Taldykorgan'),
  city('7292', 'Mangystau', 'Aktau'),
  city('72934', 'Mangystau', 'Zhanaozen'),
];

const RANGES_BY_PREFIX = new Map(KZ_NUMBERING_PLAN.map((r) => [r.prefix, r]));
const PREFIX_LENGTHS = [...new Set(KZ_NUMBERING_PLAN.map((r) => r.prefix.length))].sort((a, b) => b - a);

/** Longest KZ_NUMBERING_PLAN entry whose prefix starts `nsn` (a lookup per prefix length: call screening's hot path). */
export function findKzRange(nsn: string): NumberRange | undefined {
  for (const length of PREFIX_LENGTHS) {
    const range = RANGES_BY_PREFIX.get(nsn.slice(0, length));
    if (range) return range;
  }
  return undefined;
}

export type ZoneHolder = 'KZ' | 'RU' | 'shared' | 'reserve';

export interface ZoneSplit {
  /** Inclusive bounds on the first three NSN digits, 0–999. */
  from: number;
  to: number;
  holder: ZoneHolder;
}

/** How +7 is split between Kazakhstan and Russia (2024 agreement, §1.1). Covers 000–999 once. */
export const PLUS7_SPLIT: readonly ZoneSplit[] = [
  { from: 0, to: 99, holder: 'KZ' },
  { from: 100, to: 199, holder: 'shared' },
  { from: 200, to: 599, holder: 'RU' },
  { from: 600, to: 799, holder: 'KZ' },
  { from: 800, to: 809, holder: 'shared' },
  { from: 810, to: 818, holder: 'RU' },
  { from: 819, to: 819, holder: 'reserve' },
  { from: 820, to: 821, holder: 'RU' },
  { from: 822, to: 830, holder: 'reserve' },
  { from: 831, to: 831, holder: 'RU' },
  { from: 832, to: 832, holder: 'reserve' },
  { from: 833, to: 836, holder: 'RU' },
  { from: 837, to: 839, holder: 'reserve' },
  { from: 840, to: 848, holder: 'RU' },
  { from: 849, to: 849, holder: 'reserve' },
  { from: 850, to: 851, holder: 'RU' },
  { from: 852, to: 854, holder: 'reserve' },
  { from: 855, to: 857, holder: 'RU' },
  { from: 858, to: 859, holder: 'reserve' },
  { from: 860, to: 863, holder: 'RU' },
  { from: 864, to: 864, holder: 'reserve' },
  { from: 865, to: 867, holder: 'RU' },
  { from: 868, to: 868, holder: 'reserve' },
  { from: 869, to: 869, holder: 'RU' },
  { from: 870, to: 870, holder: 'reserve' },
  { from: 871, to: 873, holder: 'RU' },
  { from: 874, to: 876, holder: 'reserve' },
  { from: 877, to: 880, holder: 'RU' },
  { from: 881, to: 899, holder: 'shared' },
  { from: 900, to: 999, holder: 'RU' },
];

const HOLDER_BY_HEAD: (ZoneHolder | undefined)[] = Array.from({ length: 1000 }, (_, n) => PLUS7_SPLIT.find((s) => n >= s.from && n <= s.to)?.holder);

/** Holder of a +7 NSN by its first three digits. Throws RangeError if they are not digits. */
export function plus7Holder(nsn: string): ZoneHolder {
  const head = nsn.slice(0, 3);
  if (!/^[0-9]{3}$/.test(head)) throw new RangeError('expected an NSN starting with three digits');
  const holder = HOLDER_BY_HEAD[Number(head)];
  if (!holder) throw new RangeError('PLUS7_SPLIT does not cover ' + head);
  return holder;
}

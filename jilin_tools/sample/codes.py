"""Reference data of the sample world: Jilin division codes, plates, places, names, code lists.

Division codes come from python-stdnum's copy of GB/T 2260 (``stdnum/cn/loc.dat``), read here directly
so that the generator does not depend on the pipeline's own standards code. Each code carries the years
in which it was in force, exactly as stdnum uses them to validate the address part of an ID number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

PROVINCE = "22"
CURRENT_YEAR = 9999  # stands for an open end: the code is still in force


@dataclass(frozen=True)
class Division:
    code: str
    name: str  # the newest name
    periods: tuple[tuple[int, int], ...]  # (first year, last year) in force; open bounds are 0 / CURRENT_YEAR

    @property
    def current(self) -> bool:
        return any(end == CURRENT_YEAR for _, end in self.periods)

    def valid_in(self, year: int) -> bool:
        return any(start <= year <= end for start, end in self.periods)


@lru_cache(maxsize=1)
def divisions() -> dict[str, Division]:
    """Every Jilin (22xxxx) code of stdnum's loc.dat with its periods in force."""
    text = (resources.files("stdnum") / "cn" / "loc.dat").read_text(encoding="utf-8")
    out: dict[str, Division] = {}
    in_jilin = False
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        if not line.startswith(" "):
            in_jilin = line.split()[0] == PROVINCE
            continue
        if not in_jilin:
            continue
        m = re.match(r'\s+(\d{4}) county="(.*)"', line)
        if not m:
            continue
        code = PROVINCE + m.group(1)
        periods = []
        name = ""
        for part in m.group(2).split(","):
            pm = re.match(r"\[(\d*)-(\d*)\](.*)", part)
            if pm:
                periods.append((int(pm.group(1) or 0), int(pm.group(2) or CURRENT_YEAR)))
                name = pm.group(3)
            else:
                periods.append((0, CURRENT_YEAR))
                name = part
        out[code] = Division(code, name, tuple(periods))
    return out


# Retired codes and the code in force today for the same place (successor), for the codes an ID number
# may still carry. Only places that were renamed or re-coded as a whole are listed.
RETIRED_SUCCESSORS: dict[str, str] = {
    "220381": "220184",  # 公主岭市 moved from Siping to Changchun (2020)
    "220181": "220113",  # 九台市 -> 九台区 (2014)
    "220123": "220113",  # 九台县
    "220724": "220781",  # 扶余县 -> 扶余市 (2013)
    "220625": "220605",  # 江源县 -> 江源区 (2006)
    "220121": "220182",  # 榆树县
    "220124": "220183",  # 德惠县
    "220125": "220112",  # 双阳县
    "220222": "220283",  # 舒兰县
    "220223": "220284",  # 磐石县
    "220224": "220281",  # 蛟河县
    "220225": "220282",  # 桦甸县
    "220324": "220382",  # 双辽县
    "220522": "220582",  # 集安县
    "220624": "220681",  # 临江县
    "222422": "222403",  # 敦化县
    "222423": "222406",  # 和龙县
    "222425": "222404",  # 珲春县
    "222122": "220322",  # 梨树县 (四平地区)
    "222123": "220323",  # 伊通县
    "222124": "220382",  # 双辽县
    "222125": "220421",  # 东丰县
    "222222": "220521",  # 通化县 (通化地区)
    "222223": "220524",  # 柳河县
    "222224": "220523",  # 辉南县
    "222225": "220582",  # 集安县
    "222226": "220621",  # 抚松县
    "222227": "220622",  # 靖宇县
    "222228": "220623",  # 长白朝鲜族自治县
    "222302": "220881",  # 洮南市 (白城地区)
    "222304": "220882",  # 大安市
    "222325": "220882",  # 大安县
    "222326": "220821",  # 镇赉县
    "222327": "220822",  # 通榆县
    "222328": "220723",  # 乾安县
    "222323": "220722",  # 长岭县
    "222324": "220721",  # 前郭尔罗斯蒙古族自治县
}

# Retired codes that still turn up in division-code fields of today's exports (recent re-codings); the
# pipeline repairs them to their successor.
RECENT_RETIRED: dict[str, str] = {
    "220381": "220184",
    "220181": "220113",
    "220724": "220781",
    "220625": "220605",
}
RECENT_PREDECESSOR: dict[str, str] = {v: k for k, v in RECENT_RETIRED.items()}

# Codes that look like division codes but are in no edition of GB/T 2260.
UNKNOWN_DIVISIONS = ("220199", "229901", "221234", "220999", "228888")

# Prefecture (2 + 2 digits) -> plate letter, seat, coordinates of the seat.
PREFECTURES: dict[str, tuple[str, str, float, float]] = {
    "2201": ("A", "长春市", 125.3245, 43.8868),
    "2202": ("B", "吉林市", 126.5496, 43.8378),
    "2203": ("C", "四平市", 124.3504, 43.1665),
    "2204": ("D", "辽源市", 125.1437, 42.8880),
    "2205": ("E", "通化市", 125.9399, 41.7284),
    "2206": ("F", "白山市", 126.4239, 41.9394),
    "2207": ("J", "松原市", 124.8250, 45.1411),
    "2208": ("G", "白城市", 122.8389, 45.6196),
    "2224": ("H", "延边朝鲜族自治州", 129.5133, 42.9048),
}
# Jilin's bounding box (the province lies inside; the "outside" points below lie outside it).
JILIN_BBOX = (121.6, 40.85, 131.35, 46.3)  # lon_min, lat_min, lon_max, lat_max
COORD_JITTER = 0.08  # degrees around a prefecture seat: well inside the province
OUTSIDE_POINTS = (  # (lon, lat) of places outside Jilin and outside its bounding box
    (116.4074, 39.9042),  # Beijing
    (121.4737, 31.2304),  # Shanghai
    (113.2644, 23.1291),  # Guangzhou
    (104.0665, 30.5723),  # Chengdu
    (87.6168, 43.8256),  # Urumqi (Jilin's latitude, far west)
    (0.0, 0.0),
)


@lru_cache(maxsize=1)
def current_counties() -> tuple[str, ...]:
    """County-level codes in force today (the values of division-code fields), sorted."""
    return tuple(
        sorted(
            c
            for c, d in divisions().items()
            if d.current and not c.endswith("00") and d.name != "市辖区" and c[:4] in PREFECTURES
        )
    )


def id_code_pools(year: int) -> tuple[list[str], list[str]]:
    """(current, retired) codes an ID number of someone born in ``year`` may carry (valid in that year per
    stdnum). Current ones include prefecture codes where no county code existed yet; retired ones are those
    with a known successor."""
    divs = divisions()
    current = [c for c in current_counties() if divs[c].valid_in(year)]
    if len(current) < 8:
        current += [c for c in ("220100", "220200", "222400") if divs[c].valid_in(year)]
    retired = sorted(c for c in RETIRED_SUCCESSORS if c in divs and divs[c].valid_in(year) and not divs[c].current)
    return current, retired


def home_division(id_code: str, rng_value: float) -> str:
    """The current county for someone whose ID carries ``id_code`` (successor, or a county of the prefecture)."""
    if id_code in RETIRED_SUCCESSORS:
        return RETIRED_SUCCESSORS[id_code]
    if id_code.endswith("00"):
        pool = counties_of(id_code[:4])
        return pool[int(rng_value * len(pool)) % len(pool)]
    return id_code


@lru_cache(maxsize=None)
def counties_of(prefecture: str) -> tuple[str, ...]:
    return tuple(c for c in current_counties() if c[:4] == prefecture)


def county_name(code: str) -> str:
    d = divisions().get(code)
    return d.name if d else ""


# --- names (all characters are in GBK) -------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕鹏辉建国志宏海波斌宇浩"
    "俊峰晨阳欣怡子涵梓轩雨萱思雨佳琪博文浩然一诺梦琪晓东春梅冬梅立新振华德胜永刚凤兰淑珍丽娟"
)
# Transliterated Mongolian (and a few Uyghur) given names, joined with the middle dot "·".
DOT_FIRST = ("巴特尔", "阿拉坦", "乌云", "其木格", "那仁", "宝音", "额尔敦", "苏日娜", "斯琴", "图雅", "阿依古丽", "艾力")
DOT_SECOND = ("巴雅尔", "朝鲁", "达来", "孟和", "乌力吉", "格日勒", "哈斯", "吉雅", "特木尔", "萨仁", "买买提", "阿不都")

ENTITY_BRANDS = (
    "宏达", "远航", "金鑫", "华信", "永安", "鑫源", "恒通", "顺达", "亚泰", "长白", "松江", "北方", "吉盛", "通达", "瑞丰",
    "天成", "万达", "安泰", "兴隆", "东升", "嘉禾", "裕丰", "汇通", "明珠", "大成", "新世纪", "龙腾", "祥和", "富民", "中吉",
)
ENTERPRISE_TRADES = ("商贸", "科技", "食品", "汽车服务", "机械制造", "医药", "农业发展", "信息技术", "餐饮管理", "物业服务")
TRANSPORT_TRADES = ("运输", "交通运输", "运输集团", "汽车运输", "运输服务")  # neutral: a company may run any scope
CONSTRUCTION_TRADES = ("建筑工程", "建设集团", "市政工程", "路桥工程", "建工")
DEVELOPER_TRADES = ("房地产开发", "置业", "城市建设投资", "开发建设")
COMPANY_SUFFIXES = ("有限公司", "有限责任公司", "股份有限公司")
ORGAN_NAMES = ("财政局", "教育局", "民政局", "人力资源和社会保障局", "交通运输局", "住房和城乡建设局", "公安局", "卫生健康委员会", "农业农村局", "审计局")
INSTITUTION_NAMES = ("第一中学", "第二中学", "实验小学", "人民医院", "中医院", "图书馆", "疾病预防控制中心", "职业技术学校", "档案馆", "广播电视台")
OTHER_ORG_NAMES = ("慈善总会", "个体劳动者协会", "志愿者协会", "老年人体育协会", "民办养老院", "职业培训学校")
SHOP_KINDS = ("便利店", "五金店", "饭店", "理发店", "货运部", "维修部", "水果店", "药店")
STREETS = (
    "人民大街", "解放大路", "自由大路", "亚泰大街", "前进大街", "延安大路", "卫星路", "南湖大路", "长江路", "重庆路",
    "北京大街", "吉林大路", "东盛大街", "建设街", "繁荣路", "普阳街", "湖西路", "临河街", "光明路", "新华大街",
)
URBAN_CATEGORIES = ("占道经营", "违章建筑", "乱堆乱放", "渣土撒漏", "违规户外广告", "油烟污染", "噪声扰民", "井盖破损", "绿地损毁", "违规停车")
PROJECT_KINDS = ("住宅小区", "商业综合体", "办公楼", "学校教学楼", "医院门诊楼", "厂房", "仓储物流中心", "安置房", "体育馆", "污水处理厂")

# --- traffic police code lists ---------------------------------------------------------------------

PLATE_TYPES = ("01", "02", "07", "51", "52")
USE_CODES = ("A", "B", "C", "D", "E", "F", "H")
VEHICLE_STATUSES = ("A", "B", "E", "G")
LICENCE_STATUSES = ("A", "B", "E", "G")
# offence code -> (fine in yuan, points)
OFFENCES: dict[str, tuple[int, int]] = {
    "1039": (150, 0),  # 违反禁止标线指示
    "1344": (100, 3),  # 不按导向车道行驶
    "1352": (200, 3),  # 超速未达20%
    "1625": (200, 6),  # 闯红灯
    "1042": (50, 1),  # 不按规定使用安全带
    "1240": (200, 3),  # 驾驶时拨打接听手持电话
    "13523": (200, 6),  # 超速20%以上未达50%
    "17111": (2000, 12),  # 饮酒后驾驶营运机动车
    "13442": (500, 9),  # 驾驶营运客车超员20%以上
    "1373": (100, 0),  # 违反规定停放
    "60111": (200, 1),  # 货车违反禁令标志
}
SCOPES = ("道路旅客运输", "道路普通货物运输", "危险货物运输", "出租客运")
SCOPE_QUALIFICATION = {
    "道路旅客运输": "passenger_driver",
    "道路普通货物运输": "freight_driver",
    "危险货物运输": "dangerous_goods_driver",
    "出租客运": "taxi_driver",
}
QUALIFICATION_TYPES = ("passenger_driver", "freight_driver", "taxi_driver", "dangerous_goods_driver")
PERMIT_STATUSES = ("营运", "注销", "吊销")
CONSTRUCTION_STATUSES = ("valid", "suspended", "revoked", "completed")
CERT_TYPES = ("driving_licence", "road_transport_permit", "practitioner_qualification", "construction_permit")

# Values outside each code list, used for the code_out_of_list problem.
OUT_OF_LIST: dict[str, tuple[str, ...]] = {
    "plate_type": ("99", "03", "2"),
    "vehicle_type": ("K3", "999", "XYZ"),
    "use": ("Z", "X", "0"),
    "owner_id_type": ("C", "9"),
    "vehicle_status": ("X", "Z", "9"),
    "sex12": ("3", "0"),
    "sex129": ("3", "0", "5"),
    "licence_classes": ("Z9", "X1", "H"),
    "licence_status": ("Q", "X", "9"),
    "offence": ("999", "123456", "ABCD"),
    "processed": ("2", "9"),
    "video_status": ("UNKNOWN", "BROKEN", "on"),
    "scope": ("其他运输", "网约车", "旅游包车"),
    "permit_status": ("停运", "暂停", "过期"),
    "qualification_type": ("bus_driver", "coach", "truck"),
    "qualification_status": ("expired", "suspended", "unknown"),
    "construction_status": ("pending", "closed", "unknown"),
    "case_status": ("pending", "archived"),
    "employer_type": ("20", "40", "99"),
    "insurance_type": ("999", "510", "130"),
    "insured_status": ("3", "9", "0"),
    "cert_type": ("passport", "lawyer_licence", "business_licence"),
    "division": UNKNOWN_DIVISIONS,
}


def plate_letters() -> np.ndarray:
    """Letters allowed in the serial part of a plate (no I or O)."""
    return np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))

"""Vocabulary for generated records: Vietnamese notes, tags, product names and reasons."""

from __future__ import annotations

HARAVAN_REASONS: tuple[str, ...] = (
    "newproduct",
    "returned",
    "productionofgoods",
    "damaged",
    "shrinkage",
    "promotion",
    "transfer",
)
# Reasons whose generated line quantities are mostly negative (stock leaves the location).
OUTGOING_REASONS: frozenset[str] = frozenset({"damaged", "shrinkage", "promotion", "transfer"})
BULK_REASONS: frozenset[str] = frozenset({"newproduct", "productionofgoods"})

HARAVAN_NOTES: tuple[str, ...] = (
    "hàng hư hỏng do nhà sản xuất",
    "Kiểm kê cuối tháng",
    "Nhập hàng mới từ nhà cung cấp",
    "Khách trả hàng, sản phẩm còn nguyên tem",
    "Hàng thất lạc khi vận chuyển",
    "Điều chỉnh tồn kho sau kiểm đếm",
    "Tặng kèm chương trình khuyến mãi",
    "Chuyển kho nội bộ",
    "update from api",
    "",
)
HARAVAN_TAGS: tuple[str, ...] = (
    "Hư hỏng",
    "Kiểm kê",
    "Nhập hàng",
    "Khuyến mãi",
    "Hư hỏng, Trả hàng",
    "Kiểm kê cuối tháng, Kho chính",
    "Thất thoát",
)

PRODUCT_NAMES: tuple[str, ...] = (
    "Áo thun cổ tròn",
    "Quần jean ống đứng",
    "Váy hoa nhí",
    "Giày thể thao",
    "Túi xách da",
    "Nón lá truyền thống",
    "Cà phê rang xay Buôn Ma Thuột",
    "Nước mắm Phú Quốc",
    "Bánh pía sầu riêng",
    "Trà ô long Bảo Lộc",
    "Áo dài lụa tơ tằm",
    "Dép tổ ong",
    "Bình giữ nhiệt inox",
    "Nồi cơm điện",
    "Sữa rửa mặt nghệ",
)
COLORS: tuple[str, ...] = ("Đỏ", "Xanh dương", "Vàng", "Đen", "Trắng", "Hồng phấn", "Xám")
SIZES: tuple[str, ...] = ("S", "M", "L", "XL", "250ml", "500g", "1kg")
LOCATION_NAMES: tuple[str, ...] = (
    "Kho Hà Nội",
    "Kho Hồ Chí Minh",
    "Cửa hàng Đà Nẵng",
    "Kho Cần Thơ",
    "Cửa hàng Hải Phòng",
    "Kho Nha Trang",
)

STOCKY_REASONS: tuple[tuple[int, str], ...] = (
    (1, "Damaged"),
    (2, "Shrinkage"),
    (3, "Promotion or donation"),
    (4, "Kiểm kê cuối tháng"),
    (5, "Hư hỏng"),
    (6, "Hàng trả lại"),
)
STOCKY_NOTES: tuple[str, ...] = (
    "Kiểm kê cuối tháng",
    "Hàng bị ẩm mốc, hủy bỏ",
    "Đếm lại kệ A3",
    "Stock count after inventory audit",
    "Hư hỏng",
    "",
)

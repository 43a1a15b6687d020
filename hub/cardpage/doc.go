// Package cardpage renders the public card page a customer opens from the link
// on their card: stamps toward each goal and the open vouchers with their
// redeem codes as text, QR code and Code 128 barcode (PNG data URIs, so the
// page loads nothing else). It owns the page's HTML and the code images.
package cardpage

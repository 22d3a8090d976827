// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EciesLite} from "../crowdsourcing/EciesLite.sol";
import {IReputation} from "../crowdsourcing/IReputation.sol";

/// @title MPC: the marketplace contract of MetaAICM (seed 001, §4.4.2.2, §4.5.2, §4.5.3, §4.5.5.1)
/// @notice Sellers list datasets and models by (P_price, P_desc, H_s) where H_s = keccak256 of the canonical
///         IPFS URL (T_list, Eq. 4.3). A buyer escrows the price in MetaCoin (MTC) and names a per-purchase
///         secp256k1 key B; the seller delivers URL_s = Enc_B(URL) (spec §4.3, `EciesLite`). Within the
///         challenge window t_chal the buyer may dispute by revealing the URL it decrypted and the secret b of
///         B; the contract settles it by the thesis's two-stage comparison:
///         (0) addr(b·G) must be addr(B), (1) re-encrypting the revealed URL must give the delivered URL_s,
///         else the buyer lied: seller paid, buyer -1; (2) keccak256(URL) must equal H_s, else the URL was
///         modified: buyer refunded, seller -1; no discrepancy: seller paid, buyer -1 (a potential DoS
///         attacker). Without a dispute anyone releases the payment after t_chal. The buyer of a paid
///         purchase rates it once, 0-10: >= 8 rewards the seller's reputation, <= 3 penalises it.
/// @dev Fix of the thesis (spec §7 A14): stage 2 hashes the revealed plaintext URL, not the re-encrypted URL_b
///      (the literal text, which refunds every dispute, is kept behind `faithfulStage2` for a documented
///      test). Only hash commitments are stored; the ciphertext itself travels in the `ProductDelivered`
///      event. Non-delivery (spec A15): the buyer reclaims the escrow after T_fulfil. Each purchase is an
///      independent escrow, so a listing sells many times; prices cannot change, so a purchase's escrow is
///      its product's price. Gas: a purchase is one storage slot. Its id carries the product, the buyer and
///      the block of the request (`purchaseIdOf`), so the slot holds only status, rating flag, deadline and a
///      200-bit binding: addr(B) while Requested, then the low 200 bits of keccak256(addr(B), E,
///      keccak256(URL_s)), one commitment to key and ciphertext; stage 0 (the key) and stage 1 (the
///      ciphertext) are checked by that one comparison. A buyer buys a product at most once per block.
contract MPC is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Longest IPFS reference accepted, in bytes (8 keystream blocks).
    uint256 public constant MAX_URL_LENGTH = 256;
    /// @notice Highest rating.
    uint8 public constant MAX_SCORE = 10;

    enum ProductType {
        Dataset,
        Model
    }

    enum Status {
        None,
        Requested,
        Delivered,
        Paid,
        Refunded,
        Cancelled
    }

    enum Outcome {
        BuyerLied, // stage 0 or 1 failed: the buyer's claim does not re-encrypt to URL_s
        UrlModified, // stage 2 failed: the delivered URL is not the listed one; buyer refunded
        NoDiscrepancy // the delivery was correct; seller paid
    }

    struct Product {
        address seller; // slot 0
        uint88 price;
        bool active;
        bytes32 urlHash; // slot 1: H_s
        uint64 ratingSum; // slot 2, written by the first rating
        uint64 ratingCount;
    }

    /// @notice A purchase as `getPurchase` returns it (buyer and product come from its id).
    struct Purchase {
        address buyer;
        uint32 productId;
        Status status;
        bool rated;
        uint40 deadline; // end of T_fulfil while Requested, end of t_chal once Delivered
        bytes32 commitment; // the binding below, zero-extended
    }

    /// @dev A purchase's one storage slot.
    struct Escrow {
        Status status;
        bool rated;
        uint40 deadline;
        // addr(B) of the per-purchase key while Requested; from delivery on the low 200 bits of
        // keccak256(abi.encode(addr(B), E.x, E.y, keccak256(URL_s))), one commitment to key and ciphertext.
        uint200 binding;
    }

    /// @notice The MetaCoin (MTC) token prices are paid in.
    IERC20 public immutable token;
    /// @notice The Reputation Contract (RC).
    IReputation public immutable reputation;
    /// @notice T_fulfil: seconds a seller has to deliver before the buyer may cancel.
    uint64 public immutable fulfilWindow;
    /// @notice t_chal: seconds after delivery during which the buyer may dispute.
    uint64 public immutable challengeWindow;
    /// @notice R_min for sellers (fixed point): lower reputations cannot list.
    int256 public immutable minSellerReputation;
    /// @notice Ratings at or above this reward the seller's reputation (thesis: 8).
    uint8 public immutable rewardThreshold;
    /// @notice Ratings at or below this penalise the seller's reputation (thesis: 3).
    uint8 public immutable penaltyThreshold;
    /// @notice Literal thesis stage 2 (hash of the ciphertext URL_b against H_s). Off by default: the literal
    ///         rule refunds every dispute, correct deliveries included.
    bool public immutable faithfulStage2;

    uint256 private _productCount;
    mapping(uint256 productId => Product) private _products;
    mapping(uint256 purchaseId => Escrow) private _purchases;

    error ZeroAddress();
    error InvalidConfig();
    error PriceOutOfRange(uint256 price);
    error EmptyUrlHash();
    error ReputationTooLow(address avatar, int256 reputation, int256 minimum);
    error UnknownProduct(uint256 productId);
    error ProductNotActive(uint256 productId);
    error NotSeller(address caller);
    error NotBuyer(address caller);
    error SelfPurchase();
    error InvalidBuyerKey();
    error InvalidEphemeralKey();
    error InvalidCiphertext(uint256 length);
    error InvalidUrl(uint256 length);
    error InvalidSecret();
    error WrongStatus(uint256 purchaseId, Status status);
    error DeliveryWindowClosed(uint256 purchaseId);
    error DeliveryWindowOpen(uint256 purchaseId);
    error ChallengeWindowClosed(uint256 purchaseId);
    error ChallengeWindowOpen(uint256 purchaseId);
    error AlreadyRated(uint256 purchaseId);
    error InvalidScore(uint256 score);
    error PurchaseExists(uint256 purchaseId);
    error ProductIdsExhausted();

    event ProductListed(
        uint256 indexed productId,
        address indexed seller,
        uint256 price,
        ProductType productType,
        bytes32 urlHash,
        string descURI
    );
    event ProductDelisted(uint256 indexed productId);
    event PurchaseRequested(
        uint256 indexed purchaseId,
        uint256 indexed productId,
        address indexed buyer,
        uint256 price,
        uint256 buyerKeyX,
        uint256 buyerKeyY
    );
    event ProductDelivered(uint256 indexed purchaseId, uint256 ephemeralX, uint256 ephemeralY, bytes ciphertext);
    event PurchaseCancelled(uint256 indexed purchaseId, uint256 refund);
    event DisputeResolved(uint256 indexed purchaseId, Outcome outcome, address indexed paidTo, uint256 amount);
    event PaymentReleased(uint256 indexed purchaseId, address indexed seller, uint256 amount);
    event ProductRated(uint256 indexed productId, uint256 indexed purchaseId, uint8 score);

    /// @param token_ MetaCoin.
    /// @param reputation_ RC; this contract needs its WRITER_ROLE.
    /// @param fulfilWindow_ T_fulfil in seconds (> 0).
    /// @param challengeWindow_ t_chal in seconds (> 0).
    /// @param minSellerReputation_ R_min for listing (fixed point).
    /// @param rewardThreshold_ Rating that rewards the seller (thesis: 8), at most MAX_SCORE.
    /// @param penaltyThreshold_ Rating that penalises the seller (thesis: 3), below rewardThreshold_.
    /// @param faithfulStage2_ True for the literal (erroneous) stage 2 of the thesis.
    constructor(
        IERC20 token_,
        IReputation reputation_,
        uint64 fulfilWindow_,
        uint64 challengeWindow_,
        int256 minSellerReputation_,
        uint8 rewardThreshold_,
        uint8 penaltyThreshold_,
        bool faithfulStage2_
    ) {
        if (address(token_) == address(0) || address(reputation_) == address(0)) revert ZeroAddress();
        if (
            fulfilWindow_ == 0 || challengeWindow_ == 0 || rewardThreshold_ > MAX_SCORE
                || penaltyThreshold_ >= rewardThreshold_
        ) revert InvalidConfig();
        token = token_;
        reputation = reputation_;
        fulfilWindow = fulfilWindow_;
        challengeWindow = challengeWindow_;
        minSellerReputation = minSellerReputation_;
        rewardThreshold = rewardThreshold_;
        penaltyThreshold = penaltyThreshold_;
        faithfulStage2 = faithfulStage2_;
    }

    // ------------------------------------------------------------------ sellers

    /// @notice Lists a product (T_list = {P_price | P_desc | H_s}); the signature is the transaction's.
    /// @param price P_price in MTC base units (1 .. 2^88 - 1).
    /// @param productType Dataset or Model.
    /// @param urlHash H_s = keccak256 of the canonical IPFS URL.
    /// @param descURI P_desc: a URI of the description JSON (kept in the event only).
    /// @return productId The new product's id (from 1 to 2^32 - 1).
    function listProduct(uint256 price, ProductType productType, bytes32 urlHash, string calldata descURI)
        external
        returns (uint256 productId)
    {
        if (price == 0 || price > type(uint88).max) revert PriceOutOfRange(price);
        if (urlHash == bytes32(0)) revert EmptyUrlHash();
        int256 rep = reputation.reputationOf(msg.sender);
        if (rep < minSellerReputation) revert ReputationTooLow(msg.sender, rep, minSellerReputation);
        productId = ++_productCount;
        if (productId > type(uint32).max) revert ProductIdsExhausted(); // purchase ids hold 32 bits of it
        Product storage product = _products[productId];
        product.seller = msg.sender;
        product.price = uint88(price);
        product.active = true;
        product.urlHash = urlHash;
        emit ProductListed(productId, msg.sender, price, productType, urlHash, descURI);
    }

    /// @notice Withdraws a listing from sale; purchases already made go on.
    /// @param productId The product.
    function delist(uint256 productId) external {
        Product storage product = _existingProduct(productId);
        if (product.seller != msg.sender) revert NotSeller(msg.sender);
        if (!product.active) revert ProductNotActive(productId);
        product.active = false;
        emit ProductDelisted(productId);
    }

    /// @notice Delivers URL_s = Enc_B(URL) for a requested purchase; t_chal starts now.
    /// @param purchaseId The purchase.
    /// @param ephemeralX E.x of the ciphertext (0 < E.x < n).
    /// @param ephemeralY E.y (E on secp256k1).
    /// @param ciphertext c, as long as the URL (1 .. MAX_URL_LENGTH bytes).
    function deliver(uint256 purchaseId, uint256 ephemeralX, uint256 ephemeralY, bytes calldata ciphertext)
        external
    {
        Escrow storage purchase = _purchases[purchaseId];
        if (purchase.status != Status.Requested) revert WrongStatus(purchaseId, purchase.status);
        if (_products[_productOf(purchaseId)].seller != msg.sender) revert NotSeller(msg.sender);
        if (block.timestamp > purchase.deadline) revert DeliveryWindowClosed(purchaseId);
        if (!EciesLite.isUsablePoint(ephemeralX, ephemeralY)) revert InvalidEphemeralKey();
        if (ciphertext.length == 0 || ciphertext.length > MAX_URL_LENGTH) {
            revert InvalidCiphertext(ciphertext.length);
        }
        purchase.status = Status.Delivered;
        purchase.deadline = uint40(block.timestamp + challengeWindow);
        purchase.binding = _commit(bytes32(uint256(purchase.binding)), ephemeralX, ephemeralY, keccak256(ciphertext));
        emit ProductDelivered(purchaseId, ephemeralX, ephemeralY, ciphertext);
    }

    // ------------------------------------------------------------------ buyers

    /// @notice Buys a product: escrows its price (approve MPC first) and names the per-purchase key B the
    ///         seller encrypts the URL to. Notifies the seller through `PurchaseRequested`.
    /// @param productId The product.
    /// @param buyerKeyX B.x.
    /// @param buyerKeyY B.y (B on secp256k1 with 0 < B.x < n).
    /// @return purchaseId The new purchase's id, `purchaseIdOf(productId, msg.sender, block.number)`.
    function requestPurchase(uint256 productId, uint256 buyerKeyX, uint256 buyerKeyY)
        external
        nonReentrant
        returns (uint256 purchaseId)
    {
        Product storage product = _existingProduct(productId);
        if (!product.active) revert ProductNotActive(productId);
        address seller = product.seller;
        if (seller == msg.sender) revert SelfPurchase();
        if (!EciesLite.isUsablePoint(buyerKeyX, buyerKeyY)) revert InvalidBuyerKey();
        uint256 price = product.price;
        purchaseId = purchaseIdOf(productId, msg.sender, block.number);
        Escrow storage purchase = _purchases[purchaseId];
        if (purchase.status != Status.None) revert PurchaseExists(purchaseId);
        purchase.status = Status.Requested;
        purchase.deadline = uint40(block.timestamp + fulfilWindow);
        purchase.binding = uint200(uint160(EciesLite.pointAddress(buyerKeyX, buyerKeyY)));
        emit PurchaseRequested(purchaseId, productId, msg.sender, price, buyerKeyX, buyerKeyY);
        reputation.recordInteraction(msg.sender, seller);
        token.safeTransferFrom(msg.sender, address(this), price);
    }

    /// @notice Takes the escrow back when the seller did not deliver within T_fulfil.
    /// @param purchaseId The purchase.
    function cancelUndelivered(uint256 purchaseId) external nonReentrant {
        Escrow storage purchase = _purchases[purchaseId];
        if (purchase.status != Status.Requested) revert WrongStatus(purchaseId, purchase.status);
        if (_buyerOf(purchaseId) != msg.sender) revert NotBuyer(msg.sender);
        if (block.timestamp <= purchase.deadline) revert DeliveryWindowOpen(purchaseId);
        purchase.status = Status.Cancelled;
        uint256 amount = _products[_productOf(purchaseId)].price;
        emit PurchaseCancelled(purchaseId, amount);
        token.safeTransfer(msg.sender, amount);
    }

    /// @notice The thesis's "disputation" within t_chal: reveal the decrypted URL and the secret b of B.
    /// @param purchaseId The purchase.
    /// @param url The URL the buyer claims URL_s decrypts to (1 .. MAX_URL_LENGTH bytes).
    /// @param buyerSecret b, the secret of the per-purchase key B (1 .. n-1).
    /// @param ephemeralX E.x as delivered.
    /// @param ephemeralY E.y as delivered.
    /// @return outcome BuyerLied, UrlModified (refund) or NoDiscrepancy.
    function dispute(
        uint256 purchaseId,
        bytes calldata url,
        uint256 buyerSecret,
        uint256 ephemeralX,
        uint256 ephemeralY
    ) external nonReentrant returns (Outcome outcome) {
        Escrow storage purchase = _purchases[purchaseId];
        if (purchase.status != Status.Delivered) revert WrongStatus(purchaseId, purchase.status);
        if (_buyerOf(purchaseId) != msg.sender) revert NotBuyer(msg.sender);
        if (block.timestamp > purchase.deadline) revert ChallengeWindowClosed(purchaseId);
        if (url.length == 0 || url.length > MAX_URL_LENGTH) revert InvalidUrl(url.length);
        if (buyerSecret == 0 || buyerSecret >= EciesLite.N) revert InvalidSecret();
        if (ephemeralX == 0 || ephemeralX >= EciesLite.N) revert InvalidEphemeralKey();

        outcome = _judge(purchaseId, purchase, url, buyerSecret, ephemeralX, ephemeralY);
        _settleDispute(purchaseId, purchase, outcome);
    }

    /// @notice Releases the escrow to the seller once t_chal has passed without a dispute (anyone may call).
    /// @param purchaseId The purchase.
    function finalize(uint256 purchaseId) external nonReentrant {
        Escrow storage purchase = _purchases[purchaseId];
        if (purchase.status != Status.Delivered) revert WrongStatus(purchaseId, purchase.status);
        if (block.timestamp <= purchase.deadline) revert ChallengeWindowOpen(purchaseId);
        purchase.status = Status.Paid;
        Product storage product = _products[_productOf(purchaseId)];
        address seller = product.seller;
        uint256 amount = product.price;
        emit PaymentReleased(purchaseId, seller, amount);
        token.safeTransfer(seller, amount);
    }

    /// @notice Rates a paid purchase once, 0-10; >= rewardThreshold rewards the seller (+A/P), <=
    ///         penaltyThreshold penalises it (-1).
    /// @param purchaseId The purchase (status Paid).
    /// @param score 0 .. MAX_SCORE.
    function rate(uint256 purchaseId, uint8 score) external {
        Escrow storage purchase = _purchases[purchaseId];
        if (purchase.status != Status.Paid) revert WrongStatus(purchaseId, purchase.status);
        if (_buyerOf(purchaseId) != msg.sender) revert NotBuyer(msg.sender);
        if (purchase.rated) revert AlreadyRated(purchaseId);
        if (score > MAX_SCORE) revert InvalidScore(score);
        purchase.rated = true;
        uint256 productId = _productOf(purchaseId);
        Product storage product = _products[productId];
        product.ratingSum += score;
        product.ratingCount += 1;
        emit ProductRated(productId, purchaseId, score);
        if (score >= rewardThreshold) reputation.reward(product.seller);
        else if (score <= penaltyThreshold) reputation.penalize(product.seller);
    }

    // ------------------------------------------------------------------ views

    /// @notice A product's record.
    /// @param productId The product.
    /// @return The record (zeros when unknown).
    function getProduct(uint256 productId) external view returns (Product memory) {
        return _products[productId];
    }

    /// @notice A purchase's record.
    /// @param purchaseId The purchase.
    /// @return purchase The record (zeros when unknown).
    function getPurchase(uint256 purchaseId) external view returns (Purchase memory purchase) {
        Escrow storage escrow = _purchases[purchaseId];
        if (escrow.status == Status.None) return purchase;
        purchase = Purchase(
            _buyerOf(purchaseId),
            uint32(_productOf(purchaseId)),
            escrow.status,
            escrow.rated,
            escrow.deadline,
            bytes32(uint256(escrow.binding))
        );
    }

    /// @notice The id of the purchase of `productId` that `buyer` requests in block `blockNumber`: product
    ///         (32 bits) | buyer (160 bits) | block (64 bits). Ids are unique because a buyer buys a product at
    ///         most once per block (`PurchaseExists`).
    /// @param productId The product (below 2^32).
    /// @param buyer The buyer.
    /// @param blockNumber The block of the request.
    /// @return The purchase id.
    function purchaseIdOf(uint256 productId, address buyer, uint256 blockNumber) public pure returns (uint256) {
        return (productId << 224) | (uint256(uint160(buyer)) << 64) | uint64(blockNumber);
    }

    /// @notice Number of products listed so far (ids run 1 .. productCount).
    /// @return The count.
    function productCount() external view returns (uint256) {
        return _productCount;
    }

    /// @notice The product's average rating in fixed point (1e18 = 1.0); 0 before the first rating.
    /// @param productId The product.
    /// @return The average.
    function averageRating(uint256 productId) external view returns (uint256) {
        Product storage product = _products[productId];
        if (product.ratingCount == 0) return 0;
        return (uint256(product.ratingSum) * 1e18) / product.ratingCount;
    }

    /// @notice The encryption context of a purchase's URL_s (spec §4.3): the seller encrypts and the buyer
    ///         decrypts with it.
    /// @param purchaseId The purchase.
    /// @return keccak256(abi.encode(chainId, this, purchaseId, 0)).
    function encryptionContext(uint256 purchaseId) external view returns (bytes32) {
        return EciesLite.context(address(this), purchaseId, 0);
    }

    // ------------------------------------------------------------------ internals

    function _buyerOf(uint256 purchaseId) private pure returns (address) {
        return address(uint160(purchaseId >> 64));
    }

    function _productOf(uint256 purchaseId) private pure returns (uint256) {
        return purchaseId >> 224;
    }

    /// @dev The binding of a delivery: the low 200 bits of keccak256(addr(B), E.x, E.y, keccak256(URL_s)).
    function _commit(bytes32 keyAddress, uint256 ephemeralX, uint256 ephemeralY, bytes32 cipherHash)
        private
        pure
        returns (uint200)
    {
        return uint200(uint256(keccak256(abi.encode(keyAddress, ephemeralX, ephemeralY, cipherHash))));
    }

    function _existingProduct(uint256 productId) private view returns (Product storage product) {
        product = _products[productId];
        if (product.seller == address(0)) revert UnknownProduct(productId);
    }

    /// @dev The two-stage comparison (plus the key check of spec §4.3).
    function _judge(
        uint256 purchaseId,
        Escrow storage purchase,
        bytes calldata url,
        uint256 buyerSecret,
        uint256 ephemeralX,
        uint256 ephemeralY
    ) private view returns (Outcome) {
        // Stage 0: the revealed secret must be the one behind B. Stage 1: re-encrypting the claimed URL
        // (URL_b) must give the delivered URL_s. Both are bound by the one delivery commitment.
        bytes32 reencrypted = EciesLite.cipherHash(
            url,
            EciesLite.mulAddress(buyerSecret, ephemeralX, ephemeralY),
            EciesLite.context(address(this), purchaseId, 0)
        );
        bytes32 keyAddress = bytes32(uint256(uint160(EciesLite.publicAddress(buyerSecret))));
        if (_commit(keyAddress, ephemeralX, ephemeralY, reencrypted) != purchase.binding) return Outcome.BuyerLied;
        // Stage 2: H_b against H_s. The thesis hashes URL_b (the ciphertext); the fix hashes the plaintext.
        bytes32 hashB = faithfulStage2 ? reencrypted : keccak256(url);
        return hashB == _products[_productOf(purchaseId)].urlHash ? Outcome.NoDiscrepancy : Outcome.UrlModified;
    }

    /// @dev Money and reputation after a dispute: refund and seller -1, or seller paid and buyer -1.
    function _settleDispute(uint256 purchaseId, Escrow storage purchase, Outcome outcome) private {
        Product storage product = _products[_productOf(purchaseId)];
        address seller = product.seller;
        uint256 amount = product.price;
        address buyer = _buyerOf(purchaseId);
        address paidTo;
        if (outcome == Outcome.UrlModified) {
            purchase.status = Status.Refunded;
            paidTo = buyer;
            reputation.penalize(seller);
        } else {
            purchase.status = Status.Paid;
            paidTo = seller;
            reputation.penalize(buyer);
        }
        emit DisputeResolved(purchaseId, outcome, paidTo, amount);
        token.safeTransfer(paidTo, amount);
    }
}

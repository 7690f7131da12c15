//===- OnnxTypesTest.cpp - ONNX data type mapping -------------------------===//

#include "amct/Dialect/Amct/IR/Amct.h"
#include "amct/Dialect/Amct/IR/OnnxTypes.h"

#include "mlir/IR/MLIRContext.h"
#include "gtest/gtest.h"

using namespace mlir;
using namespace amct;

TEST(OnnxTypes, EveryKnownDataTypeRoundTrips) {
  MLIRContext ctx;
  ctx.loadDialect<AmctDialect>();
  // 1..20 are the ONNX data types up to the float8 family (0 is UNDEFINED).
  for (int32_t dt = 1; dt <= 20; ++dt) {
    Type t = getElementTypeForOnnxDataType(&ctx, dt);
    ASSERT_TRUE(t) << "data type " << dt;
    std::optional<int32_t> back = getOnnxDataTypeForElementType(t);
    ASSERT_TRUE(back.has_value()) << "data type " << dt;
    EXPECT_EQ(*back, dt);
  }
  EXPECT_FALSE(getElementTypeForOnnxDataType(&ctx, 0));
  EXPECT_FALSE(getElementTypeForOnnxDataType(&ctx, 99));
}

TEST(OnnxTypes, SignednessIsKept) {
  MLIRContext ctx;
  EXPECT_TRUE(getElementTypeForOnnxDataType(&ctx, 2).isUnsignedInteger(8)); // UINT8
  EXPECT_TRUE(getElementTypeForOnnxDataType(&ctx, 3).isSignlessInteger(8)); // INT8
  EXPECT_TRUE(getElementTypeForOnnxDataType(&ctx, 9).isInteger(1));         // BOOL
}

TEST(OnnxTypes, RawElementSizes) {
  EXPECT_EQ(getOnnxRawElementSize(1), 4);   // FLOAT
  EXPECT_EQ(getOnnxRawElementSize(7), 8);   // INT64
  EXPECT_EQ(getOnnxRawElementSize(10), 2);  // FLOAT16
  EXPECT_EQ(getOnnxRawElementSize(9), 1);   // BOOL
  EXPECT_EQ(getOnnxRawElementSize(15), 16); // COMPLEX128
  EXPECT_EQ(getOnnxRawElementSize(8), 0);   // STRING: no fixed size
}

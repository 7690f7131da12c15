//===- ChannelPruneTest.cpp - which channels pruning keeps ----------------===//
//
// AMCT's selection: floor(C * ratio) removed, the kept count rounded up to
// the alignment, the least important removed first, ties to the lower
// channel; never all channels.
//
//===----------------------------------------------------------------------===//

#include "amct/Transforms/ChannelPrune.h"

#include "gtest/gtest.h"

using namespace amct;

namespace {

std::vector<int> keptIndices(const std::vector<bool> &keep) {
  std::vector<int> out;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i])
      out.push_back(int(i));
  return out;
}

TEST(ChannelPruneTest, RemovesTheLeastImportant) {
  std::vector<double> importance = {0.9, 0.1, 0.5, 0.0, 1.0, 0.3};
  // floor(6 * 0.5) = 3 removed: channels 3 (0.0), 1 (0.1), 5 (0.3).
  EXPECT_EQ(keptIndices(selectKeptChannels(importance, 0.5, 1)), (std::vector<int>{0, 2, 4}));
  // floor(6 * 0.3) = 1 removed.
  EXPECT_EQ(keptIndices(selectKeptChannels(importance, 0.3, 1)),
            (std::vector<int>{0, 1, 2, 4, 5}));
}

TEST(ChannelPruneTest, AlignsTheKeptCountUp) {
  std::vector<double> importance(40);
  for (size_t i = 0; i < importance.size(); ++i)
    importance[i] = double(i);
  // 40 - floor(40 * 0.5) = 20 kept -> 32 with 16-alignment: the 32 most
  // important (8..39) stay.
  std::vector<bool> keep = selectKeptChannels(importance, 0.5, 16);
  EXPECT_EQ(std::count(keep.begin(), keep.end(), true), 32);
  EXPECT_FALSE(keep[7]);
  EXPECT_TRUE(keep[8]);
  // Alignment never keeps more than there are.
  std::vector<double> few = {1, 2, 3};
  EXPECT_EQ(keptIndices(selectKeptChannels(few, 0.5, 16)), (std::vector<int>{0, 1, 2}));
}

TEST(ChannelPruneTest, TiesGoToTheLowerChannelAndOneStays) {
  std::vector<double> equal = {0, 0, 0, 0};
  EXPECT_EQ(keptIndices(selectKeptChannels(equal, 0.5, 1)), (std::vector<int>{0, 1}));
  EXPECT_EQ(keptIndices(selectKeptChannels(equal, 0.99, 1)), (std::vector<int>{0}));
}

} // namespace

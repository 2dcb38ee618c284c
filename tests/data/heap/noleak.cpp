#include <iostream>
#include <string>
#include <vector>
#include <map>
int main() {
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 100; i++) m["key" + std::to_string(i)].push_back(i);
    std::cout << "entries " << m.size() << std::endl;
    printf("done\n");
    return 0;
}

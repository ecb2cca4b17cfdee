;; 画门窗编号：在点取位置写入编号文字
(defun c:门窗编号 (/ 编号 点)
  (setq 编号 (getstring "\n输入编号: "))
  (while (setq 点 (getpoint "\n指定位置: "))
    (entmake (list '(0 . "TEXT") (cons 10 点) '(40 . 300.) (cons 1 编号)))
  )
  (princ)
)
